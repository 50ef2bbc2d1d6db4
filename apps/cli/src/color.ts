/** Colours for terminal output; none when NO_COLOR is set, --no-color is given or the stream is not a terminal. */
export interface Paint {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const plain: Paint = { bold: (t) => t, dim: (t) => t, red: (t) => t, green: (t) => t, yellow: (t) => t, cyan: (t) => t };

function ansi(open: number, close: number): (text: string) => string {
  return (text) => `\u001b[${open}m${text}\u001b[${close}m`;
}

/** Colours for `stream`, honouring NO_COLOR (https://no-color.org) and --no-color. */
export function paintFor(stream: NodeJS.WriteStream, noColor = false): Paint {
  const env = process.env.NO_COLOR;
  if (noColor || (env !== undefined && env !== '') || !stream.isTTY) return plain;
  return { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), green: ansi(32, 39), yellow: ansi(33, 39), cyan: ansi(36, 39) };
}
