import { spawn } from 'node:child_process';
import { numberFlag, parseCommandArgs, UsageError, type CliCommand } from '../command.js';

const usage = `isfdb serve <db> [--port N] [--host 127.0.0.1] [--token T] [--open]

Serve a read-only browser viewer of the database: key tree, provenance, history and lineage,
tables, voltage traces, spike rasters and PSTHs. Ctrl-C stops it.
  --port N    port to listen on (default 8765; 0 picks a free one)
  --host H    address to bind (default 127.0.0.1). Any other than a loopback address
              requires --token, and every request must then carry it
  --token T   a secret of at least 16 characters (or $ISFDB_SERVE_TOKEN)
  --open      open the viewer in the default browser`;

export const command: CliCommand = {
  name: 'serve',
  usage,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      port: { type: 'string' }, host: { type: 'string' }, token: { type: 'string' }, open: { type: 'boolean' },
    }, { min: 1, max: 1, names: '<db>' });
    const port = numberFlag(values, 'port', { integer: true, min: 0 }) ?? 8765;
    // The server is a heavy part (fastify): loaded only by this command.
    const { startServer, ServeOptionsError } = await import('../../server/index.js');
    let server;
    try {
      server = await startServer({
        db: positionals[0]!, port, host: (values.host as string | undefined) ?? '127.0.0.1',
        token: (values.token as string | undefined) ?? (process.env['ISFDB_SERVE_TOKEN'] || undefined),
      });
    } catch (err) {
      if (err instanceof ServeOptionsError) throw new UsageError(err.message);
      throw err;
    }
    process.stdout.write(`isfdb viewer of ${positionals[0]!} at ${server.url}\n(read-only; Ctrl-C stops it)\n`);
    if (values.open) openBrowser(server.url);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    process.stdout.write('stopped\n');
    return 0;
  },
};

function openBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`isfdb serve: could not run ${opener}; open ${url} yourself\n`));
  child.unref();
}
