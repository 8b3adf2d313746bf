// Every `tessera` command, one import a line. Add yours here.
import type { Command } from '../command.ts';

export const commands: Command[] = [
];
