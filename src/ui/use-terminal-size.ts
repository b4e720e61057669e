/** The terminal's size, followed on every resize (stdout's 'resize' event) so the tabs re-fit their columns. */
import { useStdout } from 'ink';
import { useEffect, useState } from 'react';

export type TerminalSize = { readonly columns: number; readonly rows: number };

/** What a terminal without a size (a pipe, a test stream) is taken to be. */
export const DEFAULT_SIZE: TerminalSize = { columns: 80, rows: 24 };

const sizeOf = (out: NodeJS.WriteStream): TerminalSize => ({
  columns: out.columns || DEFAULT_SIZE.columns,
  rows: out.rows || DEFAULT_SIZE.rows,
});

export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => sizeOf(stdout));
  useEffect(() => {
    const resized = (): void => setSize(sizeOf(stdout));
    resized();
    stdout.on('resize', resized);
    return () => {
      stdout.off('resize', resized);
    };
  }, [stdout]);
  return size;
}
