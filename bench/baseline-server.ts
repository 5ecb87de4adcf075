/**
 * The HTTP baseline: a plain Hono JSON endpoint on the same Node adapter as the
 * real server. It reads a JSON body and answers JSON, nothing else, so our
 * /v1/slots throughput can be read as a fraction of what Hono on Node does here.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/json', async (c) => {
  const body = await c.req.json<{ user?: string }>();
  return c.json({ slots: [], user: typeof body.user === 'string' ? body.user.length : 0 });
});
app.get('/healthz', (c) => c.json({ ok: true }));

const port = Number(process.env.PORT ?? 8788);
const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST ?? '127.0.0.1' }, (info) => {
  console.log(`[baseline] serving on http://${info.address}:${info.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
