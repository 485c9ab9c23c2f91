import { Browser, expect, Page, test as base } from '@playwright/test';

/**
 * `test` that fails when any page of the test throws an uncaught error: a panic in the WASM app
 * stops hydration silently otherwise.
 */
export const test = base.extend<{ pageErrors: string[] }>({
  pageErrors: [async ({ context }, use) => {
    const errors: string[] = [];
    const watch = (page: Page) => page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
    context.pages().forEach(watch);
    context.on('page', watch);
    await use(errors);
    expect(errors, 'uncaught errors in the page').toEqual([]);
  }, { auto: true }],
});


export const PASSWORD = 'correct horse battery staple';

/** A unique address per run, so tests never collide with each other or with the demo data. */
export function uniqueEmail(name: string): string {
  return `${name}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/**
 * Waits until the WASM has hydrated the page, so clicks are handled by the app. When it does not,
 * the error says where the page's load stood (its response, DOM, load event and the bundle's
 * files, in ms since navigation), so a timeout in CI can be told apart from a hang.
 */
export async function hydrated(page: Page): Promise<void> {
  try {
    await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
  } catch (error) {
    const timings = await page.evaluate(loadTimings).catch((e) => `unavailable: ${e}`);
    throw new Error(`${(error as Error).message}\nPage load: ${timings}`);
  }
}

function loadTimings(): string {
  const ms = (t: number) => `${Math.round(t)}`;
  const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
  const bundle = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
    .filter((r) => r.name.includes('/pkg/'))
    .map((r) => `${r.name.split('/').pop()} ${ms(r.startTime)}-${ms(r.responseEnd)} (${r.encodedBodySize} B)`);
  const page = nav
    ? `response ${ms(nav.responseEnd)}, DOM ready ${ms(nav.domContentLoadedEventEnd)}, load ${ms(nav.loadEventEnd)}`
    : 'no navigation entry';
  return `${page}; bundle: ${bundle.join(', ') || 'none'}; now ${ms(performance.now())} ms`;
}

/** Reads the newest mail to `to` with `subject` from the dev mailbox and returns the first link. */
export async function linkFromMailbox(page: Page, to: string, subject: string): Promise<string> {
  const mail = page.getByRole('article', { name: `Mail to ${to}: ${subject}` }).first();
  // Mail is sent in the background: look again until it is there.
  await expect(async () => {
    await page.goto('/dev/mailbox');
    await expect(mail).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 10_000 });
  const body = await mail.locator('pre').innerText();
  const link = body.match(/https?:\/\/\S+/)?.[0];
  expect(link, `a link in: ${body}`).toBeTruthy();
  return new URL(link!).pathname + new URL(link!).search;
}

/** Signs up through the form, confirms the address from the mailbox, lands signed in. */
export async function signUp(page: Page, name: string, email: string, next?: string): Promise<void> {
  await page.goto(next ? `/sign-up?next=${encodeURIComponent(next)}` : '/sign-up');
  await hydrated(page);
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('status')).toContainText('Check your inbox');
  const link = await linkFromMailbox(page, email, 'Confirm your email for Cairn');
  await page.goto(link);
  await hydrated(page);
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await expect(page.getByRole('heading', { name: `Welcome, ${name}` })).toBeVisible();
}

/** A page in a new browser context (another person), watched for uncaught errors like the rest. */
export async function newPage(browser: Browser, errors: string[]): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
  return page;
}

/** Signs in with one of the demo accounts the e2e server seeds. */
export async function signInDemo(page: Page, email: string, name: string): Promise<void> {
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('cairn-demo-2026');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: `Welcome, ${name}` })).toBeVisible();
}
