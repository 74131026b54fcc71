/**
 * Streams text while watching for stop strings: text that could still become a stop string is held
 * back until it cannot, and a found stop string ends the stream without being emitted.
 *
 * @example
 * ```ts
 * import { StopStringFilter } from 'msd';
 *
 * const filter = new StopStringFilter(['\nUSER:']);
 * filter.push('Hello\nUS'); // 'Hello'
 * filter.push('ER: hi');    // '' and filter.stopped === true
 * ```
 */
export class StopStringFilter {
  private pending = '';
  /** True once a stop string was seen. */
  stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  /** Adds generated text; returns the part that is safe to emit. */
  push(text: string): string {
    if (this.stopped) return '';
    this.pending += text;
    let cut = -1;
    for (const stop of this.stops) {
      const index = this.pending.indexOf(stop);
      if (index >= 0 && (cut < 0 || index < cut)) cut = index;
    }
    if (cut >= 0) {
      this.stopped = true;
      const out = this.pending.slice(0, cut);
      this.pending = '';
      return out;
    }
    const hold = this.holdBack();
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return out;
  }

  /** The held-back text, at the end of generation. */
  flush(): string {
    const out = this.stopped ? '' : this.pending;
    this.pending = '';
    return out;
  }

  /** Length of the longest suffix of the pending text that is a proper prefix of a stop string. */
  private holdBack(): number {
    let hold = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, this.pending.length); length > hold; length--) {
        if (this.pending.endsWith(stop.slice(0, length))) {
          hold = length;
          break;
        }
      }
    }
    return hold;
  }
}
