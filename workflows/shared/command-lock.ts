// One command at a time per workflow: two handlers (an update, a signal's processing, the main loop)
// never run a provider call or an inventory transaction against the same state at once.
import { condition } from '@temporalio/workflow';

export class CommandLock {
  private held = false;

  /**
   * Taken inside the condition itself: waiters woken in the same activation are all evaluated
   * before any of them resumes, so a flag set after the `await` would let two of them in.
   */
  private readonly take = (): boolean => {
    if (this.held) return false;
    this.held = true;
    return true;
  };

  async run<T>(command: () => Promise<T>): Promise<T> {
    await condition(this.take);
    try {
      return await command();
    } finally {
      this.held = false;
    }
  }
}
