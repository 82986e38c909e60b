// Progress of long work, on stderr so stdout stays parseable: `==> step 3/7: cordon node east-node-2 (12s)`.
// A spinner only when stderr is a terminal; plain lines otherwise (CI logs, pipes).
import { formatDuration } from '../util/duration.js';
import { palette } from './color.js';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  private readonly started: number;
  private stepStarted: number;
  private spinner?: NodeJS.Timeout;
  private frame = 0;
  private current = '';

  constructor(
    private readonly stream: ProgressStream = process.stderr,
    private readonly clock: () => number = Date.now,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.started = clock();
    this.stepStarted = this.started;
  }

  private get tty(): boolean {
    return this.stream.isTTY === true && this.env.CI === undefined;
  }

  /** Starts step `index` of `total` (1-based). */
  step(index: number, total: number, title: string): void {
    this.stopSpinner();
    this.stepStarted = this.clock();
    this.current = `==> step ${index}/${total}: ${title}`;
    this.line(`${this.current} (${formatDuration(this.stepStarted - this.started)})`);
    this.startSpinner();
  }

  /** A line of detail under the current step. */
  info(message: string): void {
    this.clearSpinnerLine();
    this.line(`    ${message}`);
  }

  warn(message: string): void {
    this.clearSpinnerLine();
    this.line(`${palette(this.stream).yellow('warning:')} ${message}`);
  }

  /** Ends the run: stops the spinner and prints the total elapsed time. */
  done(message: string): void {
    this.stopSpinner();
    this.line(`==> ${message} (${formatDuration(this.clock() - this.started)})`);
  }

  stop(): void {
    this.stopSpinner();
  }

  private line(text: string): void {
    this.stream.write(`${text}\n`);
  }

  private startSpinner(): void {
    if (!this.tty) return;
    this.spinner = setInterval(() => {
      this.frame = (this.frame + 1) % FRAMES.length;
      this.stream.write(`\r${FRAMES[this.frame]} ${formatDuration(this.clock() - this.stepStarted)}\u001b[K`);
    }, 120);
    this.spinner.unref();
  }

  private clearSpinnerLine(): void {
    if (this.spinner) this.stream.write('\r\u001b[K');
  }

  private stopSpinner(): void {
    if (!this.spinner) return;
    clearInterval(this.spinner);
    this.spinner = undefined;
    this.stream.write('\r\u001b[K');
  }
}
