import { createTemplateRunDir } from './pglite-template';

/** Jest globalSetup of the e2e project: the run's folder for the embedded-database template (pglite-template.ts). */
export default function globalSetup(): void {
  createTemplateRunDir();
}
