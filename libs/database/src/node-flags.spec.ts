import { acceptedFlags, nodeAccepts } from './node-flags';

describe('nodeAccepts', () => {
  it('takes the flags NODE_OPTIONS allows without a probe', async () => {
    expect(await nodeAccepts('--max-old-space-size=256')).toBe(true);
    expect(await nodeAccepts('--max-semi-space-size=2')).toBe(true);
  });

  it('probes a V8 option this Node knows, and refuses one it does not (which would stop node from starting)', async () => {
    expect(await nodeAccepts('--no-flush-liftoff-code')).toBe(true);
    expect(await nodeAccepts('--no-such-v8-flag-atrium')).toBe(false);
  });

  it('keeps the accepted flags in order and names the refused ones', async () => {
    expect(
      await acceptedFlags([
        '--max-old-space-size=256',
        '--no-such-v8-flag-atrium',
        '--max-semi-space-size=2',
      ]),
    ).toEqual({
      accepted: ['--max-old-space-size=256', '--max-semi-space-size=2'],
      refused: ['--no-such-v8-flag-atrium'],
    });
  });
});
