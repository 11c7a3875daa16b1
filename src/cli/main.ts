#!/usr/bin/env node
/** isfdb: the command line of isf-data-base. One file per command in ./commands, loaded when it runs. */
import { COMMANDS } from './commands/index.js';
import { EXIT, EXIT_CODES_HELP } from './failure.js';
import { exitQuietlyOnClosedPipes, packageVersion } from './process-io.js';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `isfdb <command> [options]\n\nCommands:\n${rows}\n\nisfdb <command> --help shows a command's options; isfdb --version the version.\n\n${EXIT_CODES_HELP}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`isfdb ${packageVersion()}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`isfdb: unknown command '${name}' (see isfdb --help)\n`);
    return EXIT.usage;
  }
  const { runCommand } = await import('./command.js');
  return runCommand(await command.load(), rest);
}

exitQuietlyOnClosedPipes();
process.exitCode = await main(process.argv.slice(2).filter((arg) => arg !== '--debug'));
