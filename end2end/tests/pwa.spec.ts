import { expect } from '@playwright/test';
import { hydrated, signInDemo, test } from './helpers';

test('the manifest describes an installable app', async ({ request }) => {
  const response = await request.get('/manifest.webmanifest');
  expect(response.ok()).toBeTruthy();
  const manifest = await response.json();
  expect(manifest.name).toBe('Cairn');
  expect(manifest.short_name).toBe('Cairn');
  expect(manifest.display).toBe('standalone');
  expect(manifest.start_url).toBe('/');
  expect(manifest.theme_color).toBeTruthy();
  const sizes = manifest.icons.map((i: { sizes: string }) => i.sizes);
  expect(sizes).toContain('192x192');
  expect(sizes).toContain('512x512');
  expect(manifest.icons.some((i: { purpose?: string }) => i.purpose === 'maskable')).toBeTruthy();
  for (const icon of manifest.icons) {
    const image = await request.get(icon.src);
    expect(image.ok()).toBeTruthy();
    expect(image.headers()['content-type']).toContain('image/png');
  }
});

test('the service worker registers and serves the offline page', async ({ page, context }) => {
  await page.goto('/');
  await hydrated(page);
  await expect(page.locator('[data-sw-registered="true"]')).toBeAttached();
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await context.setOffline(true);
  await page.goto('/settings').catch(() => undefined);
  await expect(page.getByRole('heading', { name: 'You are offline' })).toBeVisible();
  await context.setOffline(false);
});

test('pages fit a 375 px wide screen', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  for (const path of ['/', '/sign-up', '/sign-in', '/forgot-password', '/magic-link']) {
    await page.goto(path);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0);
  }
  await context.close();
});

test('signed-in pages fit a 375 px wide screen', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await signInDemo(page, 'owner@demo.cairn.test', 'Olivia Owner');
  await page.goto('/prompts');
  const first = await page.getByRole('list', { name: 'Prompts' }).getByRole('link').first().getAttribute('href');
  const created = await page.request.post('/api/create_sequence', { data: { title: 'Narrow builder', template: 'habit-30' } });
  expect(created.ok()).toBeTruthy();
  const builder = `/sequences/${await created.json()}`;
  for (const path of ['/prompts', first!, '/prompts/new', '/org/members', '/org/api-keys', '/org/webhooks', '/org/audit', '/settings', '/prompts/import', '/notifications', '/activity', '/analytics', '/org/settings', '/sequences', builder, '/inbox', '/decisions']) {
    await page.goto(path);
    await hydrated(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(0);
  }
  await context.close();
});
