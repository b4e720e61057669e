/** A virtual clock for tests: time moves only when the test says so, running whatever falls due. */
import { VirtualTimeScheduler } from 'rxjs';

export class ManualClock extends VirtualTimeScheduler {
  constructor(start: number) {
    super();
    this.frame = start;
  }
  advance(ms: number): void {
    const target = this.frame + ms;
    this.maxFrames = target;
    this.flush();
    this.frame = target;
  }
}
