// Command trivydb writes an offline Trivy vulnerability DB (schema v2) from
// advisories defined by the acr-gate lab.
//
// Usage:
//
//	trivydb --out DIR --advisories FILE
//
// It writes DIR/db/trivy.db and DIR/db/metadata.json, i.e. DIR is what Trivy
// calls --cache-dir. Everything goes through trivy-db's own packages (pkg/db,
// pkg/types, pkg/metadata, pkg/vulnsrc/vulnerability): each advisory is stored
// exactly as trivy-db's Debian source does (advisory-detail, vulnerability-
// detail under source "debian", vulnerability-id, data-source), then the
// steps of trivy-db's vulndb build (optimize, cleanup) produce the final
// buckets: "debian N" -> package -> ID, "vulnerability" -> ID, "data-source".
// Trivy's Debian detector matches them on dpkg source package names and
// versions.
//
// Exit status: 0 on success, 2 on bad usage or bad input, 1 on other errors.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	debver "github.com/knqyf263/go-deb-version"
	bolt "go.etcd.io/bbolt"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
)

const (
	// bolt page size of the written file (bbolt defaults to the host's).
	pageSize = 4096

	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

var (
	// Fixed timestamps so that repeated runs with the same input produce the
	// same files.
	updatedAt  = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	nextUpdate = time.Date(2099, time.December, 31, 0, 0, 0, 0, time.UTC)

	// The data source recorded for every "debian N" bucket. Its ID must be
	// "debian" so that Trivy selects the Debian vendor severity.
	labDataSource = types.DataSource{
		ID:   vulnerability.Debian,
		Name: "acr-gate lab advisories (offline, not the Debian Security Tracker)",
	}

	osPattern      = regexp.MustCompile(`^debian (\d+)$`)
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	packagePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`) // Debian policy 5.6.1 / 5.6.7
)

// usageError marks errors caused by the caller (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// Advisory is one entry of the input file.
type Advisory struct {
	ID           string `json:"id"`
	OS           string `json:"os"`
	Package      string `json:"package"`
	FixedVersion string `json:"fixedVersion"`
	Severity     string `json:"severity"`
	Title        string `json:"title"`
	Description  string `json:"description"`
}

type inputFile struct {
	Advisories *[]Advisory `json:"advisories"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "trivydb: internal error: %v\n", r)
			code = exitError
		}
	}()

	fs := flag.NewFlagSet("trivydb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "Trivy cache dir to write; the DB goes to `DIR`/db/trivy.db and DIR/db/metadata.json")
	advFile := fs.String("advisories", "", "advisories JSON `FILE` ({\"advisories\":[...]}); - reads stdin")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: trivydb --out DIR --advisories FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "trivydb: unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return exitUsage
	}
	if *out == "" || *advFile == "" {
		fmt.Fprintln(stderr, "trivydb: --out and --advisories are required")
		fs.Usage()
		return exitUsage
	}

	advisories, err := readAdvisories(*advFile)
	if err == nil {
		err = writeDB(*out, advisories)
	}
	if err != nil {
		fmt.Fprintf(stderr, "trivydb: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitError
	}
	fmt.Fprintf(stderr, "trivydb: wrote %d advisories to %s\n",
		len(advisories), filepath.Join(*out, "db", "trivy.db"))
	return exitOK
}

func readAdvisories(path string) ([]Advisory, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, usagef("cannot read advisories file: %v", err)
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in inputFile
	if err := dec.Decode(&in); err != nil {
		return nil, usagef("%s: invalid advisories JSON: %v", path, err)
	}
	if dec.More() {
		return nil, usagef("%s: invalid advisories JSON: trailing data after the top-level object", path)
	}
	if in.Advisories == nil {
		return nil, usagef(`%s: missing "advisories" array (use {"advisories":[]} for an empty DB)`, path)
	}
	advisories := *in.Advisories
	if err := validate(advisories); err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	return advisories, nil
}

func validate(advisories []Advisory) error {
	type key struct{ id, os, pkg string }
	seen := map[key]int{}
	first := map[string]int{} // vulnerability ID -> index of its first entry
	for i, a := range advisories {
		where := fmt.Sprintf("advisories[%d]", i)
		if a.ID != "" {
			where += fmt.Sprintf(" (%s)", a.ID)
		}
		switch {
		case !idPattern.MatchString(a.ID):
			return fmt.Errorf("%s: id %q must match %s", where, a.ID, idPattern)
		case !osPattern.MatchString(a.OS):
			return fmt.Errorf(`%s: os %q is not supported: use "debian <major>", e.g. "debian 12"`, where, a.OS)
		case !packagePattern.MatchString(a.Package):
			return fmt.Errorf("%s: package %q is not a valid Debian package name", where, a.Package)
		case strings.TrimSpace(a.Title) == "":
			return fmt.Errorf("%s: title must not be empty", where)
		}
		if a.FixedVersion != "" {
			if _, err := debver.NewVersion(a.FixedVersion); err != nil || strings.TrimSpace(a.FixedVersion) != a.FixedVersion {
				return fmt.Errorf("%s: fixedVersion %q is not a valid Debian version", where, a.FixedVersion)
			}
		}
		if _, err := types.NewSeverity(a.Severity); err != nil {
			return fmt.Errorf("%s: severity %q must be one of %s", where, a.Severity, strings.Join(types.SeverityNames, ", "))
		}

		k := key{a.ID, a.OS, a.Package}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("%s: duplicates advisories[%d] (same id, os and package)", where, j)
		}
		seen[k] = i
		if j, ok := first[a.ID]; ok {
			b := advisories[j]
			if a.Title != b.Title || a.Description != b.Description || a.Severity != b.Severity {
				return fmt.Errorf("%s: title, description and severity must match advisories[%d], which has the same id", where, j)
			}
		} else {
			first[a.ID] = i
		}
	}
	return nil
}

// writeDB builds the DB with trivy-db in a temporary directory next to the
// destination, copies it canonically, writes metadata.json and then renames
// trivy.db and metadata.json into DIR/db, replacing older files.
func writeDB(out string, advisories []Advisory) error {
	dbDir := filepath.Join(out, "db")
	if err := os.MkdirAll(dbDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dbDir, err)
	}
	tmp, err := os.MkdirTemp(dbDir, ".trivydb-build-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)

	workDir := filepath.Join(tmp, "work")
	if err := build(workDir, advisories); err != nil {
		return err
	}
	if err := canonicalCopy(db.Path(workDir), db.Path(tmp)); err != nil {
		return err
	}
	md := metadata.Metadata{
		Version:      db.SchemaVersion,
		NextUpdate:   nextUpdate,
		UpdatedAt:    updatedAt,
		DownloadedAt: updatedAt,
	}
	if err := metadata.NewClient(tmp).Update(md); err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}

	for _, name := range []string{filepath.Base(db.Path(tmp)), filepath.Base(metadata.Path(tmp))} {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dbDir, name)); err != nil {
			return fmt.Errorf("install %s: %w", name, err)
		}
	}
	return nil
}

// canonicalCopy copies a bolt file key by key so that equal content gives
// an identical file. bbolt allocates pages for the buckets a transaction
// touched in Go map order, so trivy-db's build output differs from run to run
// in layout (not in content). Here every transaction touches exactly one chain
// of nested buckets, visited in key order, which makes the allocation order
// fixed. The page size is fixed too, so the file does not depend on the host.
func canonicalCopy(srcPath, dstPath string) error {
	src, err := bolt.Open(srcPath, 0o444, &bolt.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if err != nil {
		return fmt.Errorf("reopen work DB: %w", err)
	}
	defer src.Close()

	type bucketData struct {
		path [][]byte
		kvs  [][2][]byte
	}
	var buckets []bucketData
	var walk func(b *bolt.Bucket, path [][]byte)
	walk = func(b *bolt.Bucket, path [][]byte) {
		bd := bucketData{path: path}
		var children [][]byte
		_ = b.ForEach(func(k, v []byte) error {
			if v == nil {
				children = append(children, bytes.Clone(k))
			} else {
				bd.kvs = append(bd.kvs, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
			}
			return nil
		})
		buckets = append(buckets, bd)
		for _, c := range children {
			walk(b.Bucket(c), append(append([][]byte{}, path...), c))
		}
	}
	err = src.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			walk(b, [][]byte{bytes.Clone(name)})
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("read work DB: %w", err)
	}

	dst, err := bolt.Open(dstPath, 0o644, &bolt.Options{PageSize: pageSize, NoSync: true})
	if err != nil {
		return fmt.Errorf("create %s: %w", dstPath, err)
	}
	for _, bd := range buckets {
		err := dst.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bd.path[0])
			for _, name := range bd.path[1:] {
				if err != nil {
					break
				}
				b, err = b.CreateBucketIfNotExists(name)
			}
			if err != nil {
				return err
			}
			for _, kv := range bd.kvs {
				if err := b.Put(kv[0], kv[1]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			dst.Close()
			return fmt.Errorf("copy bucket %q: %w", bd.path, err)
		}
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return fmt.Errorf("sync %s: %w", dstPath, err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("close %s: %w", dstPath, err)
	}
	return nil
}

func build(dir string, advisories []Advisory) (err error) {
	if err := db.Init(dir, db.WithBoltOptions(&bolt.Options{PageSize: pageSize})); err != nil {
		return fmt.Errorf("open bolt DB: %w", err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close bolt DB: %w", cerr)
		}
	}()

	dbc := db.Config{}
	if err := insert(dbc, advisories); err != nil {
		return err
	}
	if len(advisories) > 0 {
		// An empty input never creates the work buckets; an empty bolt file
		// is a valid empty Trivy DB.
		if err := optimize(dbc); err != nil {
			return err
		}
		if err := cleanup(dbc); err != nil {
			return err
		}
	}

	return nil
}

// insert stores the advisories the way trivy-db's Debian source (defaultPut
// in pkg/vulnsrc/debian) does, in one batch: advisory-detail, vulnerability-
// detail (source "debian"), vulnerability-id and data-source.
func insert(dbc db.Config, advisories []Advisory) error {
	return dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, a := range advisories {
			severity, _ := types.NewSeverity(a.Severity) // validated
			detail := types.Advisory{
				FixedVersion: a.FixedVersion,
				Severity:     severity, // package-specific severity, as Debian provides
			}
			if a.FixedVersion == "" {
				detail.Status = types.StatusAffected
			}
			if err := dbc.PutAdvisoryDetail(tx, a.ID, a.Package, []string{a.OS}, &detail); err != nil {
				return fmt.Errorf("put advisory detail %s/%s: %w", a.ID, a.Package, err)
			}
			vuln := types.VulnerabilityDetail{
				ID:          a.ID,
				Severity:    severity,
				Title:       a.Title,
				Description: a.Description,
			}
			if err := dbc.PutVulnerabilityDetail(tx, a.ID, vulnerability.Debian, vuln); err != nil {
				return fmt.Errorf("put vulnerability detail %s: %w", a.ID, err)
			}
			if err := dbc.PutVulnerabilityID(tx, a.ID); err != nil {
				return fmt.Errorf("put vulnerability id %s: %w", a.ID, err)
			}
			if err := dbc.PutDataSource(tx, a.OS, labDataSource); err != nil {
				return fmt.Errorf("put data source %s: %w", a.OS, err)
			}
		}
		return nil
	})
}

// optimize is trivy-db's vulndb.TrivyDB.optimize: copy every advisory from
// advisory-detail into its platform bucket and store the normalized
// vulnerability. (vulndb itself is not imported because it links every
// upstream data source, including golang.org/x/tools, which does not build
// with current Go at the version trivy-db pins.)
func optimize(dbc db.Config) error {
	vc := vulnerability.New(dbc)
	err := dbc.ForEachVulnerabilityID(func(tx *bolt.Tx, id string) error {
		details := vc.GetDetails(id)
		if vc.IsRejected(details) {
			return nil
		}
		if err := dbc.SaveAdvisoryDetails(tx, id); err != nil {
			return fmt.Errorf("save advisories of %s: %w", id, err)
		}
		if len(details) == 0 {
			return nil
		}
		if err := dbc.PutVulnerability(tx, id, vc.Normalize(details)); err != nil {
			return fmt.Errorf("put vulnerability %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	return nil
}

// cleanup is trivy-db's vulndb.TrivyDB.cleanup: drop the work buckets that
// Trivy does not read.
func cleanup(dbc db.Config) error {
	for _, del := range []func() error{
		dbc.DeleteVulnerabilityIDBucket,
		dbc.DeleteVulnerabilityDetailBucket,
		dbc.DeleteAdvisoryDetailBucket,
	} {
		if err := del(); err != nil {
			return fmt.Errorf("cleanup: %w", err)
		}
	}
	return nil
}
