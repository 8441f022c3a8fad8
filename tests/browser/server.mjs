// A minimal static file server for the browser tests (Node's http module only).
// Serves each URL prefix from one directory, on 127.0.0.1 and a free port.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const CONTENT_TYPES = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.json': 'application/json',
    '.map': 'application/json',
    '.webp': 'image/webp',
    '.png': 'image/png',
    '.wasm': 'application/wasm',
    '.svg': 'image/svg+xml',
    '.ico': 'image/x-icon',
    '.ply': 'application/octet-stream',
    '.sog': 'application/octet-stream'
};

/**
 * Starts a server. `routes` maps a URL prefix ("/engine/") to a directory; the longest matching
 * prefix wins. Paths that escape their directory are refused. Resolves to { origin, close, requests }
 * where `requests` lists every path asked for and its status (useful when a page fails to load).
 */
export function startServer(routes) {
    const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
    const requests = [];
    const server = http.createServer((req, res) => {
        const urlPath = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
        const reply = (status, body, type = 'text/plain; charset=utf-8') => {
            requests.push({ path: urlPath, status });
            res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
            res.end(body);
        };
        // Browsers ask for a favicon on their own; answer it, so no 404 lands in the console.
        if (urlPath === '/favicon.ico') return reply(204, '');
        const prefix = prefixes.find(p => urlPath.startsWith(p));
        if (prefix === undefined) return reply(404, 'no route');
        const root = path.resolve(routes[prefix]);
        let file = path.resolve(root, '.' + path.sep + urlPath.slice(prefix.length));
        if (file !== root && !file.startsWith(root + path.sep)) return reply(403, 'outside root');
        fs.stat(file, (err, st) => {
            if (!err && st.isDirectory()) file = path.join(file, 'index.html');
            fs.readFile(file, (readErr, data) => {
                if (readErr) return reply(404, 'not found');
                reply(200, data, CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
            });
        });
    });
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            resolve({
                origin: `http://127.0.0.1:${port}`,
                requests,
                close: () => new Promise(done => server.close(() => done()))
            });
        });
    });
}
