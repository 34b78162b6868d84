import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpstreamError } from '../building-directory.errors';
import { FileBuildingSource } from './file-building.source';

describe('FileBuildingSource', () => {
  let dir: string;
  let path: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  /** Lets every pending promise of the source settle, so a rejection nobody handles is reported. */
  const settle = () => new Promise((r) => setTimeout(r, 20));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'atrium-file-source-'));
    path = join(dir, 'buildings.json');
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (tenants: unknown) => writeFileSync(path, JSON.stringify({ tenants }));

  it('reads its file once, however many lookups miss the cache', async () => {
    write({ acme: [{ id: 'b-1', name: 'One' }] });
    const reads: string[] = [];
    const sut = new FileBuildingSource(path, undefined, async (p) => {
      reads.push(p);
      const { readFile } = await import('node:fs/promises');
      return readFile(p, 'utf8');
    });
    for (let i = 0; i < 20; i++) await sut.getBuilding('acme', i % 2 ? 'b-1' : `missing-${i}`);
    await sut.health();
    expect(reads).toEqual([path]);
    expect(await sut.getBuilding('acme', 'b-1')).toEqual({ id: 'b-1', name: 'One' });
  });

  it('keeps answering from what it read when the file goes away, with no unhandled rejection', async () => {
    write({ acme: [{ id: 'b-1', name: 'One' }] });
    const sut = new FileBuildingSource(path);
    expect(await sut.getBuilding('acme', 'b-1')).toMatchObject({ name: 'One' });
    rmSync(path);
    for (let i = 0; i < 5; i++) expect(await sut.getBuilding('acme', `other-${i}`)).toBeNull();
    expect(await sut.getBuilding('acme', 'b-1')).toMatchObject({ name: 'One' });
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('a missing or broken file is an UpstreamError per lookup (never unhandled) and is picked up once fixed', async () => {
    const sut = new FileBuildingSource(path);
    for (let i = 0; i < 3; i++)
      await expect(sut.getBuilding('acme', 'b-1')).rejects.toBeInstanceOf(UpstreamError);
    await expect(sut.health()).rejects.toThrow(/ENOENT|no such file/);
    writeFileSync(path, '{"tenants": ');
    await expect(sut.getBuilding('acme', 'b-1')).rejects.toBeInstanceOf(UpstreamError);
    write({ acme: 'not a list' });
    await expect(sut.health()).rejects.toThrow(/tenants.acme must be an array/);
    write({ acme: [{ id: 'b-1', name: 'Fixed' }] });
    expect(await sut.getBuilding('acme', 'b-1')).toMatchObject({ name: 'Fixed' });
    await settle();
    expect(unhandled).toEqual([]);
  });
});
