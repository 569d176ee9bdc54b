// render-task renders ACR task files the way ACR's engine, acr-builder (acb), does, so tests can
// see what a task file becomes on the build agent before its YAML is parsed.
//
// Mirrored from github.com/Azure/acr-builder at commit 90b22f37c83c973ede52b21ecdccea03f01beb2a
// (the commit /work/shared/tools/acb/acb was built from):
//   - templating/template.go NewTemplate: lines whose trimmed text starts with "#" are dropped
//     BEFORE templating (so "{{" in a comment line is never parsed);
//   - templating/engine.go RenderGoTemplate: text/template, Option("missingkey=zero") (StrictMode is
//     never set), sprig v2.22.0 TxtFuncMap with b64enc overridden, then every "<no value>" in the
//     output is deleted (also one that came from a value);
//   - templating/base_render_options.go: the data is a map with Build.ID, Run (ID, Commit,
//     Repository, Branch, GitTag, TriggeredBy, Registry, RegistryName, Date, SharedVolume, OS,
//     OSVersion, Architecture, TaskName), Values, ValuesJSON, RunJSON and Secrets; Secrets is empty
//     unless the task text contains "secrets"; the error texts of LoadAndRenderSteps;
//   - cmd/acb/commands/exec/exec.go + graph/preprocessor.go ("exec": true): for version >= v1.1.0,
//     the "$alias" substitution (global aliases such as $Registry -> {{.Run.Registry}}, $$ -> $)
//     that `acb exec` (what ACR runs) applies before rendering; `acb render` does not.
//
// Values are template data and are never rendered themselves. They are strings here, as `--set`
// and a values file with quoted values give them (an unquoted YAML values file could turn 1.10
// into the float 1.1).
//
// Standard library only: acb registers all of sprig's functions, so every sprig name is registered
// here too (a template that parses in acb parses here). The ones implemented below copy sprig's
// code; the rest fail at execution with "not implemented by render-task" rather than differ
// silently. Not mirrored: secret resolution (the caller's "secrets" map stands in for the vault),
// parsing the first-pass YAML to list the secrets, `alias:` sections and alias `src` files (an
// error), and the post-parse expansion of a cmd's first word (az, bash, ...) into an image.
//
// Protocol: one JSON object per stdin line, one JSON line per input on stdout:
//
//	{"template": "...", "values": {"K": "v"}, "registry": "x.azurecr.io", "id": "run1",
//	 "secrets": {"id": "placeholder"}, "exec": false, "date": "2026-01-02T03:04:05Z", ...}
//	-> {"ok": true, "rendered": "..."} | {"ok": false, "error": "..."}
package main

import (
	"bufio"
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"os"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Values mirrors templating.Values (acb's data maps have this type).
type Values map[string]interface{}

type request struct {
	Template     string            `json:"template"`
	Values       map[string]string `json:"values"`
	Secrets      map[string]string `json:"secrets"`
	Registry     string            `json:"registry"`
	ID           string            `json:"id"`
	Commit       string            `json:"commit"`
	Repository   string            `json:"repository"`
	Branch       string            `json:"branch"`
	TriggeredBy  string            `json:"triggeredBy"`
	GitTag       string            `json:"gitTag"`
	SharedVolume string            `json:"sharedVolume"`
	OS           *string           `json:"os"`
	OSVersion    string            `json:"osVersion"`
	Architecture *string           `json:"architecture"`
	TaskName     string            `json:"taskName"`
	// RFC 3339; acb uses time.Now().UTC(), and so does render-task when this is empty.
	Date string `json:"date"`
	// Template name used in error messages; acb names an --encoded-file task "decoded" (ACR sends
	// task files encoded) and a -f task by its path.
	Name string `json:"name"`
	// Also apply `acb exec`'s v1.1.0 alias preprocessing before rendering.
	Exec bool `json:"exec"`
}

type response struct {
	OK       bool   `json:"ok"`
	Rendered string `json:"rendered,omitempty"`
	Error    string `json:"error,omitempty"`
}

func main() {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, readErr := in.ReadString('\n')
		if strings.TrimSpace(line) != "" {
			var req request
			var res response
			if err := json.Unmarshal([]byte(line), &req); err != nil {
				res = response{Error: "render-task: bad input line: " + err.Error()}
			} else if rendered, err := handle(&req); err != nil {
				res = response{Error: err.Error()}
			} else {
				res = response{OK: true, Rendered: rendered}
			}
			if err := enc.Encode(res); err != nil {
				fmt.Fprintln(os.Stderr, "render-task:", err)
				os.Exit(2)
			}
		}
		if readErr == io.EOF {
			break
		}
		if readErr != nil {
			fmt.Fprintln(os.Stderr, "render-task:", readErr)
			os.Exit(2)
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "render-task:", err)
		os.Exit(2)
	}
}

// renderOptions mirrors the parts of templating.BaseRenderOptions that reach the data.
type renderOptions struct {
	req  *request
	date time.Time
	os   string
	arch string
}

func handle(req *request) (string, error) {
	opts := renderOptions{req: req, date: time.Now().UTC(), os: "linux", arch: "amd64"}
	if req.Date != "" {
		d, err := time.Parse(time.RFC3339, req.Date)
		if err != nil {
			return "", fmt.Errorf("render-task: bad date: %v", err)
		}
		opts.date = d.UTC()
	}
	// acb uses runtime.GOOS/GOARCH of the agent; ACR's Linux agents are linux/amd64, whatever
	// machine the tests run on.
	if req.OS != nil {
		opts.os = *req.OS
	}
	if req.Architecture != nil {
		opts.arch = *req.Architecture
	}
	name := req.Name
	if name == "" {
		name = "decoded"
	}
	tmpl := newTemplate(name, []byte(req.Template))
	if !req.Exec {
		// cmd/acb/commands/render/render.go
		return loadAndRenderSteps(tmpl, &opts)
	}
	// cmd/acb/commands/exec/exec.go (the part before the task YAML is parsed).
	if findVersion(tmpl.Data) >= "v1.1.0" {
		aliasData, taskData := separateAliasFromRest(tmpl.Data)
		renderedAlias, err := loadAndRenderSteps(newTemplate("aliasData", aliasData), &opts)
		if err != nil {
			return "", fmt.Errorf("unable to render alias data: %v", err)
		}
		if strings.TrimSpace(renderedAlias) != "" {
			return "", errors.New("render-task: task files with an alias: section are not supported (acb parses it as YAML)")
		}
		processed, err := preprocessString(globalAliasesLinux(), '$', string(taskData))
		if err != nil {
			return "", fmt.Errorf("unable to search/replace aliases in task: %v", err)
		}
		tmpl.Data = []byte(processed)
	}
	rendered, err := loadAndRenderSteps(tmpl, &opts)
	if err != nil {
		return "", fmt.Errorf("unable to render task: %v", err)
	}
	return rendered, nil
}

// ---- templating/template.go ----

type tmplT struct {
	Name string
	Data []byte
}

// newTemplate strips out commented lines (trimmed text starting with #), keeping the others as is.
func newTemplate(name string, data []byte) *tmplT {
	ret := []string{}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			ret = append(ret, line)
		}
	}
	return &tmplT{Name: name, Data: []byte(strings.Join(ret, "\n"))}
}

// ---- templating/base_render_options.go ----

func loadAndRenderSteps(t *tmplT, opts *renderOptions) (string, error) {
	// loadSteps: an empty template renders to "" without error.
	if len(t.Data) == 0 {
		return "", nil
	}
	mergedVals := buildValues(opts)
	// renderAndResolveSecrets: acb renders once with empty Secrets to find the task's `secrets:`
	// and resolves them from Key Vault; the caller's map stands in for the resolved values.
	secrets := Values{}
	if strings.Contains(string(t.Data), "secrets") {
		mergedVals["Secrets"] = Values{}
		rendered, err := renderGoTemplate(t.Name, string(t.Data), mergedVals)
		if err != nil {
			return "", fmt.Errorf("failed to resolve secrets in the task with error: failed to render the template: %v", err)
		}
		if rendered == "" {
			return "", errors.New("failed to resolve secrets in the task with error: rendered template was empty")
		}
		for k, v := range opts.req.Secrets {
			secrets[k] = v
		}
	}
	mergedVals["Secrets"] = secrets
	rendered, err := renderGoTemplate(t.Name, string(t.Data), mergedVals)
	if err != nil {
		return "", fmt.Errorf("error while rendering templates: %v", err)
	}
	if rendered == "" {
		return "", errors.New("rendered template was empty")
	}
	return rendered, nil
}

// buildValues mirrors OverrideValuesWithBuildInfo.
func buildValues(opts *renderOptions) Values {
	r := opts.req
	run := map[string]interface{}{
		"ID":           r.ID,
		"Commit":       r.Commit,
		"Repository":   r.Repository,
		"Branch":       r.Branch,
		"GitTag":       r.GitTag,
		"TriggeredBy":  r.TriggeredBy,
		"Registry":     r.Registry,
		"RegistryName": parseRegistryName(r.Registry),
		"Date":         opts.date.Format("20060102-150405z"), // yyyyMMdd-HHmmssz
		"SharedVolume": r.SharedVolume,
		"OS":           opts.os,
		"OSVersion":    r.OSVersion,
		"Architecture": opts.arch,
		"TaskName":     r.TaskName,
	}
	vals := Values{}
	for k, v := range r.Values {
		vals[k] = v
	}
	valsJSON, _ := json.Marshal(vals)
	runJSON, _ := json.Marshal(run)
	return Values{
		"Build":      map[string]interface{}{"ID": r.ID},
		"Run":        run,
		"Values":     vals,
		"ValuesJSON": shellQuote(string(valsJSON)),
		"RunJSON":    shellQuote(string(runJSON)),
	}
}

func parseRegistryName(fqdn string) string {
	if idx := strings.Index(fqdn, "."); idx >= 0 {
		return fqdn[:idx]
	}
	return fqdn
}

var shellEscapePattern = regexp.MustCompile(`[^\w_^@=+%,:./-]`)

func shellQuote(str string) string {
	if str == "" {
		return "''"
	}
	if shellEscapePattern.MatchString(str) {
		return "'" + strings.ReplaceAll(str, "'", "'\"'\"'") + "'"
	}
	return str
}

// ---- templating/engine.go ----

var funcMap = buildFuncMap()

func renderGoTemplate(name string, input string, data interface{}) (rendered string, err error) {
	defer func() {
		// acb logs and swallows a panic, returning "" (callers then report an empty template).
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "Template rendering recovered. Value: %v\n", r)
		}
	}()
	t := template.New("_")
	t.Option("missingkey=zero")
	t = t.New(name).Funcs(funcMap)
	if _, err := t.Parse(input); err != nil {
		return "", fmt.Errorf("failed to parse template: %s. Err: %v", name, err)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("failed to execute template: %s. Err: %v", name, err)
	}
	rendered = strings.ReplaceAll(buf.String(), "<no value>", "")
	return rendered, nil
}

// ---- sprig v2.22.0 (github.com/Masterminds/sprig, vendored by acb) ----

// sprigNames is every key of sprig v2.22.0's genericMap (functions.go), so parsing matches acb.
var sprigNames = []string{
	"hello", "date", "date_in_zone", "date_modify", "now", "htmlDate", "htmlDateInZone", "dateInZone",
	"dateModify", "ago", "toDate", "unixEpoch", "abbrev", "abbrevboth", "trunc", "trim", "upper",
	"lower", "title", "untitle", "substr", "repeat", "trimall", "trimAll", "trimSuffix", "trimPrefix",
	"nospace", "initials", "randAlphaNum", "randAlpha", "randAscii", "randNumeric", "swapcase",
	"shuffle", "snakecase", "camelcase", "kebabcase", "wrap", "wrapWith", "contains", "hasPrefix",
	"hasSuffix", "quote", "squote", "cat", "indent", "nindent", "replace", "plural", "sha1sum",
	"sha256sum", "adler32sum", "toString", "atoi", "int64", "int", "float64", "toDecimal", "split",
	"splitList", "splitn", "toStrings", "until", "untilStep", "add1", "add", "sub", "div", "mod",
	"mul", "biggest", "max", "min", "ceil", "floor", "round", "join", "sortAlpha", "default",
	"empty", "coalesce", "compact", "deepCopy", "toJson", "toPrettyJson", "ternary", "typeOf",
	"typeIs", "typeIsLike", "kindOf", "kindIs", "deepEqual", "env", "expandenv", "getHostByName",
	"base", "dir", "clean", "ext", "isAbs", "b64enc", "b64dec", "b32enc", "b32dec", "tuple", "list",
	"dict", "set", "unset", "hasKey", "pluck", "keys", "pick", "omit", "merge", "mergeOverwrite",
	"values", "append", "push", "prepend", "first", "rest", "last", "initial", "reverse", "uniq",
	"without", "has", "slice", "concat", "genPrivateKey", "derivePassword", "buildCustomCert",
	"genCA", "genSelfSignedCert", "genSignedCert", "encryptAES", "decryptAES", "uuidv4", "semver",
	"semverCompare", "fail", "regexMatch", "regexFindAll", "regexFind", "regexReplaceAll",
	"regexReplaceAllLiteral", "regexSplit", "urlParse", "urlJoin",
}

func buildFuncMap() template.FuncMap {
	fm := template.FuncMap{}
	for _, n := range sprigNames {
		name := n
		// Note: env/expandenv would read the build agent's environment in ACR, and
		// getHostByName would resolve names from it; not reproduced here on purpose.
		fm[name] = func(...interface{}) (interface{}, error) {
			return nil, fmt.Errorf("sprig function %q is not implemented by render-task (acb has it)", name)
		}
	}
	impl := template.FuncMap{
		"hello":      func() string { return "Hello!" },
		"trunc":      trunc,
		"trim":       strings.TrimSpace,
		"upper":      strings.ToUpper,
		"lower":      strings.ToLower,
		"title":      strings.Title, //nolint:staticcheck // what sprig uses
		"repeat":     func(count int, str string) string { return strings.Repeat(str, count) },
		"trimall":    func(a, b string) string { return strings.Trim(b, a) },
		"trimAll":    func(a, b string) string { return strings.Trim(b, a) },
		"trimSuffix": func(a, b string) string { return strings.TrimSuffix(b, a) },
		"trimPrefix": func(a, b string) string { return strings.TrimPrefix(b, a) },
		"contains":   func(substr string, str string) bool { return strings.Contains(str, substr) },
		"hasPrefix":  func(substr string, str string) bool { return strings.HasPrefix(str, substr) },
		"hasSuffix":  func(substr string, str string) bool { return strings.HasSuffix(str, substr) },
		"quote":      quote,
		"squote":     squote,
		"cat":        cat,
		"indent":     indent,
		"nindent":    func(spaces int, v string) string { return "\n" + indent(spaces, v) },
		"replace":    func(old, new, src string) string { return strings.Replace(src, old, new, -1) },
		"plural": func(one, many string, count int) string {
			if count == 1 {
				return one
			}
			return many
		},
		"adler32sum": func(input string) string { return fmt.Sprintf("%d", adler32.Checksum([]byte(input))) },
		"toString":   strval,
		"atoi":       func(a string) int { i, _ := strconv.Atoi(a); return i },
		"split":      split,
		"splitList":  func(sep, orig string) []string { return strings.Split(orig, sep) },
		"toStrings":  strslice,
		"join":       func(sep string, v interface{}) string { return strings.Join(strslice(v), sep) },
		"default":    dfault,
		"empty":      empty,
		"coalesce":   coalesce,
		"toJson": func(v interface{}) string {
			output, _ := json.Marshal(v)
			return string(output)
		},
		"toPrettyJson": func(v interface{}) string {
			output, _ := json.MarshalIndent(v, "", "  ")
			return string(output)
		},
		"ternary": func(vt interface{}, vf interface{}, v bool) interface{} {
			if v {
				return vt
			}
			return vf
		},
		"typeOf":     func(src interface{}) string { return fmt.Sprintf("%T", src) },
		"typeIs":     func(target string, src interface{}) bool { return target == fmt.Sprintf("%T", src) },
		"kindOf":     func(src interface{}) string { return reflect.ValueOf(src).Kind().String() },
		"kindIs":     func(target string, src interface{}) bool { return target == reflect.ValueOf(src).Kind().String() },
		"deepEqual":  reflect.DeepEqual,
		"base":       path.Base,
		"dir":        path.Dir,
		"clean":      path.Clean,
		"ext":        path.Ext,
		"isAbs":      path.IsAbs,
		"b64enc":     base64EncodeACB,
		"b64dec":     base64decode,
		"b32enc":     func(v string) string { return base32.StdEncoding.EncodeToString([]byte(v)) },
		"b32dec":     base32decode,
		"tuple":      func(v ...interface{}) []interface{} { return v },
		"list":       func(v ...interface{}) []interface{} { return v },
		"dict":       dict,
		"hasKey":     func(d map[string]interface{}, key string) bool { _, ok := d[key]; return ok },
		"fail":       func(msg string) (string, error) { return "", errors.New(msg) },
		"regexMatch": func(regex string, s string) bool { m, _ := regexp.MatchString(regex, s); return m },
		"regexFind":  func(regex string, s string) string { return regexp.MustCompile(regex).FindString(s) },
		"regexFindAll": func(regex string, s string, n int) []string {
			return regexp.MustCompile(regex).FindAllString(s, n)
		},
		"regexReplaceAll": func(regex string, s string, repl string) string {
			return regexp.MustCompile(regex).ReplaceAllString(s, repl)
		},
		"regexReplaceAllLiteral": func(regex string, s string, repl string) string {
			return regexp.MustCompile(regex).ReplaceAllLiteralString(s, repl)
		},
		"regexSplit": func(regex string, s string, n int) []string { return regexp.MustCompile(regex).Split(s, n) },
	}
	for k, v := range impl {
		fm[k] = v
	}
	return fm
}

// base64EncodeACB is acb's override of sprig's b64enc (templating/engine.go Base64Encode).
func base64EncodeACB(v interface{}) string {
	if v == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte(reflect.ValueOf(v).String()))
}

func base64decode(v string) string {
	data, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

func base32decode(v string) string {
	data, err := base32.StdEncoding.DecodeString(v)
	if err != nil {
		return err.Error()
	}
	return string(data)
}

func trunc(c int, s string) string {
	if len(s) <= c {
		return s
	}
	return s[0:c]
}

func quote(str ...interface{}) string {
	out := make([]string, 0, len(str))
	for _, s := range str {
		if s != nil {
			out = append(out, fmt.Sprintf("%q", strval(s)))
		}
	}
	return strings.Join(out, " ")
}

func squote(str ...interface{}) string {
	out := make([]string, 0, len(str))
	for _, s := range str {
		if s != nil {
			out = append(out, fmt.Sprintf("'%v'", s))
		}
	}
	return strings.Join(out, " ")
}

func cat(v ...interface{}) string {
	nv := make([]interface{}, 0, len(v))
	for _, i := range v {
		if i != nil {
			nv = append(nv, i)
		}
	}
	r := strings.TrimSpace(strings.Repeat("%v ", len(nv)))
	return fmt.Sprintf(r, nv...)
}

func indent(spaces int, v string) string {
	pad := strings.Repeat(" ", spaces)
	return pad + strings.Replace(v, "\n", "\n"+pad, -1)
}

func strval(v interface{}) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case error:
		return v.Error()
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprintf("%v", v)
	}
}

func strslice(v interface{}) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []interface{}:
		b := make([]string, 0, len(v))
		for _, s := range v {
			if s != nil {
				b = append(b, strval(s))
			}
		}
		return b
	default:
		val := reflect.ValueOf(v)
		switch val.Kind() {
		case reflect.Array, reflect.Slice:
			l := val.Len()
			b := make([]string, 0, l)
			for i := 0; i < l; i++ {
				if value := val.Index(i).Interface(); value != nil {
					b = append(b, strval(value))
				}
			}
			return b
		default:
			if v == nil {
				return []string{}
			}
			return []string{strval(v)}
		}
	}
}

func split(sep, orig string) map[string]string {
	parts := strings.Split(orig, sep)
	res := make(map[string]string, len(parts))
	for i, v := range parts {
		res["_"+strconv.Itoa(i)] = v
	}
	return res
}

func dfault(d interface{}, given ...interface{}) interface{} {
	if empty(given) || empty(given[0]) {
		return d
	}
	return given[0]
}

func empty(given interface{}) bool {
	g := reflect.ValueOf(given)
	if !g.IsValid() {
		return true
	}
	switch g.Kind() {
	default:
		return g.IsNil()
	case reflect.Array, reflect.Slice, reflect.Map, reflect.String:
		return g.Len() == 0
	case reflect.Bool:
		return !g.Bool()
	case reflect.Complex64, reflect.Complex128:
		return g.Complex() == 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return g.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return g.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return g.Float() == 0
	case reflect.Struct:
		return false
	}
}

func coalesce(v ...interface{}) interface{} {
	for _, val := range v {
		if !empty(val) {
			return val
		}
	}
	return nil
}

func dict(v ...interface{}) map[string]interface{} {
	d := map[string]interface{}{}
	for i := 0; i < len(v); i += 2 {
		key := strval(v[i])
		if i+1 >= len(v) {
			d[key] = ""
			continue
		}
		d[key] = v[i+1]
	}
	return d
}

// ---- graph/preprocessor.go (exec only) ----

// globalAliasesLinux is graph/global-defaults-linux.go's alias map.
func globalAliasesLinux() map[string]string {
	return map[string]string{
		"ID":           "{{.Run.ID}}",
		"SharedVolume": "{{.Run.SharedVolume}}",
		"Registry":     "{{.Run.Registry}}",
		"RegistryName": "{{.Run.RegistryName}}",
		"Date":         "{{.Run.Date}}",
		"OS":           "{{.Run.OS}}",
		"Architecture": "{{.Run.Architecture}}",
		"Commit":       "{{.Run.Commit}}",
		"Branch":       "{{.Run.Branch}}",
		"acr":          "mcr.microsoft.com/acr/acr-cli:0.19",
		"az":           "mcr.microsoft.com/acr/azure-cli:2ff604c",
		"bash":         "mcr.microsoft.com/acr/bash:2ff604c",
		"curl":         "mcr.microsoft.com/acr/curl:2ff604c",
		"cssc":         "mcr.microsoft.com/acr/cssc:2ff604c",
	}
}

func isAlphanumeric(c rune) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// preprocessString is acb's "$" state machine: $name -> alias value when name is an alias,
// $$ -> $, anything else kept.
func preprocessString(aliases map[string]string, directive rune, str string) (string, error) {
	var out strings.Builder
	var command strings.Builder
	ongoingCmd := false
	for _, char := range str + " " {
		if ongoingCmd {
			if char == directive && command.Len() == 0 {
				out.WriteRune(directive)
				ongoingCmd = false
			} else if !isAlphanumeric(char) {
				resolved, present := aliases[command.String()]
				if !present {
					out.WriteString(string(directive) + command.String() + string(char))
					ongoingCmd = false
					command.Reset()
				} else {
					out.WriteString(resolved)
					if char != directive {
						ongoingCmd = false
						out.WriteRune(char)
					}
					command.Reset()
				}
			} else {
				command.WriteRune(char)
			}
		} else if char == directive {
			ongoingCmd = true
		} else {
			out.WriteRune(char)
		}
	}
	return strings.TrimSuffix(out.String(), " "), nil
}

var (
	aliasFieldName    = regexp.MustCompile(`\Aalias\s*:.*\z`)
	genericTopLevelRe = regexp.MustCompile(`\A[^\s:]+[^:]*:.*\z`)
	commentRe         = regexp.MustCompile(`\A\s*#.*`)
)

// separateAliasFromRest splits the `alias:` block from the rest; like acb it reads lines with a
// default bufio.Scanner (a line over 64 KiB ends the scan) and ends every kept line with "\n".
func separateAliasFromRest(data []byte) ([]byte, []byte) {
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Split(bufio.ScanLines)
	var aliasBuffer, buffer bytes.Buffer
	inside := false
	for scanner.Scan() {
		text := scanner.Text()
		if commentRe.MatchString(text) {
			continue
		}
		if aliasFieldName.MatchString(text) && !inside {
			inside = true
		} else if genericTopLevelRe.MatchString(text) && inside {
			inside = false
		}
		if inside {
			aliasBuffer.WriteString(text + "\n")
		} else {
			buffer.WriteString(text + "\n")
		}
	}
	return aliasBuffer.Bytes(), buffer.Bytes()
}

func findVersion(data []byte) string {
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Split(bufio.ScanLines)
	for scanner.Scan() {
		text := scanner.Text()
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(text, "'\""), "version") {
			tokens := strings.SplitN(text, ":", 2)
			if len(tokens) == 2 && strings.Trim(strings.TrimSpace(tokens[0]), "'\"") == "version" {
				return strings.Trim(strings.TrimSpace(tokens[1]), "'\"")
			}
		}
	}
	return ""
}
