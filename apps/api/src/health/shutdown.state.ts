import { Injectable } from '@nestjs/common';

/** Set the moment SIGTERM/SIGINT arrives, before the server stops accepting: readiness answers 503. */
@Injectable()
export class ShutdownState {
  private since?: number;

  begin(): void {
    this.since ??= Date.now();
  }

  get shuttingDown(): boolean {
    return this.since !== undefined;
  }
}
