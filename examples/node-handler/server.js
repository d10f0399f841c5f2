// The container side: the same logic behind Node's own HTTP server on $PORT.
const http = require("node:http");
const { price } = require("./orders");

http
  .createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      let status = 200;
      let body = { ok: true };
      if (request.method === "POST") {
        [status, body] = price(JSON.parse(Buffer.concat(chunks).toString() || "{}"));
      }
      const text = JSON.stringify(body);
      response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      response.end(text);
    });
  })
  .listen(Number(process.env.PORT), "127.0.0.1");
