/** The parser produced more text than the job allows: refused rather than shipped to the API process. */
export class OutputTooLarge extends Error {
  readonly reason = 'text_too_large';
  constructor(readonly limit: number) {
    super(`The document's text is longer than the limit of ${limit} characters`);
    this.name = 'OutputTooLarge';
  }
}
