// Jest's output is Jest's own lines plus failures (issue 21, item 5): Nest's default console logger is
// switched off for every spec file. An app a spec boots (test/support/app.ts) installs its own logger
// (LogCapture) through `app.useLogger`, which replaces this; specs that check what is logged read that
// capture or spy on the Logger, which still sees every call.
import { Logger } from '@nestjs/common';

Logger.overrideLogger(false);
