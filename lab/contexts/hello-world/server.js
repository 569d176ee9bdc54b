// The walkthrough's hello-world: a page in the base image's BACKGROUND_COLOR, naming NODE_VERSION.
const http = require("http");
const color = process.env.BACKGROUND_COLOR || "unset";
const version = process.env.NODE_VERSION || "unset";
http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(`<html><body style="background-color:${color}"><h1>Hello World</h1><p>BACKGROUND_COLOR ${color}, NODE_VERSION ${version}</p></body></html>\n`);
  })
  .listen(Number(process.env.PORT || 80), () => console.log(`hello-world listening, BACKGROUND_COLOR ${color}`));
