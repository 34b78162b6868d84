// /docs in a real browser (issue 20, item 3): Swagger UI's page is templated by @nestjs/swagger with
// String.replace, so a `$` sequence in the OpenAPI document (the X-Tenant-ID description's regular
// expression ended in `$` + backtick) became a replacement pattern and the init script a SyntaxError: a
// blank page while /docs-json was fine. Headless Chromium loads the page and must see no script error and
// the operations listed. CI installs Chromium: a missing /usr/bin/chromium fails the test, it is not skipped.
import { existsSync } from 'node:fs';
import { Browser, chromium } from 'playwright-core';
import { RunningApp, startApp } from '../support/app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('/docs in headless Chromium', () => {
  let app: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM}: install it (CI does) or set CHROMIUM_PATH`);
    app = await startApp();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('renders the operations without a script error', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(`${err.name}: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
    const res = await page.goto(`${app.url}/docs`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    // Swagger UI draws one block per operation once its init script has run
    await page
      .locator('.opblock')
      .first()
      .waitFor({ timeout: 20_000 })
      .catch(() => undefined);
    expect(errors).toEqual([]);
    const paths = await page
      .locator('.opblock-summary-path')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-path')));
    expect(paths).toEqual(expect.arrayContaining(['/api/v1/buildings/{buildingId}', '/health/ready']));
    // the header is on every protected operation: open one and see it with its description
    await page.locator('.opblock-summary-path[data-path="/api/v1/buildings/{buildingId}"]').first().click();
    await page
      .locator('.parameters .parameter__name', { hasText: 'X-Tenant-ID' })
      .first()
      .waitFor({ timeout: 10_000 });
    expect(await page.locator('.parameters').first().textContent()).toContain('1 to 64 letters');
  });
});
