#!/usr/bin/env node
/** isfdb: the command line of isf-data-base. One file per command in ./commands, loaded when it runs. */
import { COMMANDS } from './commands/index.js';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return `isfdb <command> [options]\n\nCommands:\n${rows}\n\nisfdb <command> --help shows a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`isfdb: unknown command '${name}' (see isfdb --help)\n`);
    return 2;
  }
  const { runCommand } = await import('./command.js');
  return runCommand(await command.load(), rest);
}

process.exitCode = await main(process.argv.slice(2));
