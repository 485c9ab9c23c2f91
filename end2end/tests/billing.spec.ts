import { expect, Page } from '@playwright/test';
import { hydrated, newPage, signInDemo, signUp, test, uniqueEmail } from './helpers';

async function createSequence(page: Page, title: string): Promise<void> {
  await page.goto('/sequences');
  await hydrated(page);
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: 'Create sequence' }).click();
}

async function buyPremiumSequence(page: Page): Promise<void> {
  await page.goto('/sequences');
  await hydrated(page);
  await page.getByRole('link', { name: 'Executive habits in 30 days' }).click();
  await expect(page.getByRole('heading', { name: 'Premium sequence' })).toBeVisible();
  await hydrated(page);
  await page.getByRole('button', { name: 'Buy for $49.00' }).click();
  await expect(page).toHaveURL(/\/billing\/checkout\//);
  await hydrated(page);
  await expect(page.getByText('Test mode: this checkout records a test payment.')).toBeVisible();
  await page.getByRole('button', { name: 'Pay $49.00 (test payment)' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Payment received' })).toBeVisible();
  await page.getByRole('link', { name: 'Continue' }).click();
  await expect(page.getByRole('button', { name: 'Subscribe' })).toBeVisible();
}

test('a free member hits the limit and upgrades with a promo code; premium sequences are sold, shared 70/30, refunded and paid out', async ({ page, browser, pageErrors }) => {
  test.setTimeout(180_000);
  // A new person on the free plan may keep three sequences of their own.
  await signUp(page, 'Fran Free', uniqueEmail('fran'));
  for (const n of [1, 2, 3]) {
    await createSequence(page, `Morning routine ${n}`);
    await expect(page).toHaveURL(/\/sequences\/[0-9a-f-]+$/);
  }
  await createSequence(page, 'Morning routine 4');
  const refusal = page.getByRole('alert').filter({ hasText: 'Your plan allows 3 sequences of your own' });
  await expect(refusal).toBeVisible();
  await refusal.getByRole('link', { name: 'Upgrade to Premium' }).click();

  // The upgrade, with a promo code: 20% off $19.00.
  await expect(page).toHaveURL(/\/billing\?plan=premium$/);
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Your plan: Free' })).toBeVisible();
  await page.getByLabel('Promo code').fill('NOT-A-CODE');
  await page.getByRole('button', { name: 'Choose Premium' }).click();
  await expect(page.getByText('No such code.')).toBeVisible();
  await page.getByLabel('Promo code').fill('welcome20');
  await page.getByRole('button', { name: 'Choose Premium' }).click();
  await expect(page).toHaveURL(/\/billing\/checkout\//);
  await hydrated(page);
  await expect(page.getByText('Promo code WELCOME20')).toBeVisible();
  await page.getByRole('button', { name: 'Pay $15.20 (test payment)' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Payment received' })).toBeVisible();
  await page.getByRole('link', { name: 'Continue' }).click();
  await expect(page.getByRole('heading', { name: 'Your plan: Premium' })).toBeVisible();
  await expect(page.getByText(/^Renews on .* for \$15\.20 \(promo code WELCOME20\)\.$/)).toBeVisible();
  await expect(page.getByRole('link', { name: 'Receipt for Premium plan (monthly)' })).toBeVisible();
  await createSequence(page, 'Morning routine 4');
  await expect(page).toHaveURL(/\/sequences\/[0-9a-f-]+$/);

  // Two members buy the creator's premium sequence.
  const victor = await newPage(browser, pageErrors);
  await signInDemo(victor, 'viewer@demo.cairn.test', 'Victor Viewer');
  await buyPremiumSequence(victor);
  // Victor shares it: his affiliate link counts the click of whoever opens it.
  await hydrated(victor);
  await expect(victor.getByRole('heading', { name: 'Share and earn' })).toBeVisible();
  await victor.getByRole('button', { name: 'Get my affiliate link' }).click();
  const affiliateUrl = await victor.getByLabel('Your affiliate link').inputValue();
  expect(affiliateUrl).toMatch(/\/r\/[a-z0-9]{12}$/);
  await page.goto(affiliateUrl);
  await expect(page).toHaveURL(/\/sequences\/[0-9a-f-]+$/);
  await victor.goto('/sales');
  await hydrated(victor);
  const affiliateRow = victor.getByRole('table', { name: 'Affiliate links' }).getByRole('row').filter({ hasText: 'Executive habits in 30 days' });
  await expect(affiliateRow.getByRole('cell').nth(2)).toHaveText('1');
  await victor.goBack();
  await expect(victor.getByRole('heading', { name: 'Share and earn' })).toBeVisible();
  const edith = await newPage(browser, pageErrors);
  await signInDemo(edith, 'editor@demo.cairn.test', 'Edith Editor');
  await buyPremiumSequence(edith);

  // The creator sees both sales and their 70% share, and prices with a live breakdown.
  const chris = await newPage(browser, pageErrors);
  await signInDemo(chris, 'creator@demo.cairn.test', 'Chris Creator');
  await chris.goto('/sales');
  await hydrated(chris);
  const sales = chris.getByRole('table', { name: 'Sales' });
  await expect(sales.getByRole('row').filter({ hasText: 'Victor Viewer' })).toContainText('$34.30');
  await expect(sales.getByRole('row').filter({ hasText: 'Edith Editor' })).toContainText('$49.00');
  await expect(chris.getByText('Balance: $68.60')).toBeVisible();
  await chris.goto('/sequences');
  await hydrated(chris);
  await chris.getByRole('link', { name: 'Executive habits in 30 days' }).click();
  await hydrated(chris);
  await chris.getByLabel('Price in dollars').fill('100');
  await expect(chris.getByText('The client pays $100.00; the platform fee is $30.00; you receive $70.00')).toBeVisible();

  // The platform admin refunds Victor, boosts a quota and pays out what is owed.
  const sam = await newPage(browser, pageErrors);
  await signInDemo(sam, 'sysadmin@demo.cairn.test', 'Sam Sysadmin');
  await sam.getByRole('link', { name: 'Billing admin' }).click();
  await expect(sam.getByRole('heading', { name: 'Billing administration' })).toBeVisible();
  await hydrated(sam);
  // First half of it (more than was paid is explained next to the amount), then the rest.
  const refundVictor = sam.getByRole('button', { name: /^Refund Executive habits in 30 days .*viewer@demo\.cairn\.test/ });
  const payments = sam.getByRole('table', { name: 'Payments' });
  const victorsPayment = payments.getByRole('row').filter({ hasText: 'viewer@demo.cairn.test' });
  await sam.getByLabel('Refund reason').fill('Bought by mistake');
  await sam.getByLabel('Refund amount').fill('60');
  await refundVictor.click();
  await expect(sam.getByText('Refund between $0.01 and $49.00 (what is left of the payment).')).toBeVisible();
  await sam.getByLabel('Refund amount').fill('24.50');
  await refundVictor.click();
  await expect(victorsPayment).toContainText('paid, $24.50 refunded');
  await expect(sam.getByLabel('Refund amount')).toHaveValue('');
  await refundVictor.click();
  await expect(victorsPayment).toContainText('refunded');
  await expect(victorsPayment).not.toContainText('paid');

  await sam.getByLabel("Person's email").fill('client@demo.cairn.test');
  await sam.getByLabel('Quota', { exact: true }).selectOption('active_sequences');
  await sam.getByLabel('Extra', { exact: true }).fill('3');
  await sam.getByLabel('Reason', { exact: true }).fill('Pilot cohort');
  await sam.getByRole('button', { name: 'Boost quota' }).click();
  await expect(sam.getByRole('status').filter({ hasText: 'Quota boosted.' })).toBeVisible();

  // An organization's seats, named by a person in it: its name must be one of theirs.
  await sam.getByLabel("Person's email").fill('owner@demo.cairn.test');
  await sam.getByLabel('Their organization to boost (optional)').fill('Acme Coachin');
  await sam.getByLabel('Quota', { exact: true }).selectOption('members');
  await sam.getByLabel('Extra', { exact: true }).fill('5');
  await sam.getByRole('button', { name: 'Boost quota' }).click();
  await expect(sam.getByText('owner@demo.cairn.test belongs to no organization named "Acme Coachin".')).toBeVisible();
  await expect(sam.getByRole('status').filter({ hasText: 'Quota boosted.' })).toBeHidden();
  await sam.getByLabel('Their organization to boost (optional)').fill('Acme Coaching');
  await sam.getByRole('button', { name: 'Boost quota' }).click();
  await expect(sam.getByRole('status').filter({ hasText: 'Quota boosted.' })).toBeVisible();

  // A discount for three months: a wrong percentage is explained next to its field.
  await sam.getByLabel('Whose plan (email)').fill('client@demo.cairn.test');
  await sam.getByLabel('Percent off').fill('150');
  await sam.getByLabel('Reason for the discount').fill('Service outage');
  await sam.getByRole('button', { name: 'Give discount' }).click();
  await expect(sam.getByText('A whole number from 1 to 100.')).toBeVisible();
  await sam.getByLabel('Percent off').fill('50');
  await sam.getByRole('button', { name: 'Give discount' }).click();
  await expect(sam.getByRole('status').filter({ hasText: 'Discount given.' })).toBeVisible();

  // The minimum payout is the admin's to set: above Chris's $34.30, the batch leaves it to grow.
  const minimum = sam.getByRole('form', { name: 'Minimum payout' });
  await expect(minimum.getByLabel('Minimum payout')).toHaveValue('25.00');
  await minimum.getByLabel('Minimum payout').fill('0.50');
  await minimum.getByRole('button', { name: 'Save minimum payout' }).click();
  await expect(minimum.getByText('An amount from $1 to $10,000, e.g. 25 or 12.50.')).toBeVisible();
  await minimum.getByLabel('Minimum payout').fill('50');
  await minimum.getByRole('button', { name: 'Save minimum payout' }).click();
  await expect(sam.getByRole('status').filter({ hasText: 'Minimum payout saved: $50.00.' })).toBeVisible();
  await sam.getByRole('button', { name: 'Create a payout batch (balances of $50.00 or more)' }).click();
  await expect(sam.getByRole('status').filter({ hasText: 'Nobody is owed enough for a payout.' })).toBeVisible();
  await minimum.getByLabel('Minimum payout').fill('25');
  await minimum.getByRole('button', { name: 'Save minimum payout' }).click();
  await expect(sam.getByRole('status').filter({ hasText: 'Minimum payout saved: $25.00.' })).toBeVisible();

  await sam.getByRole('button', { name: 'Create a payout batch (balances of $25.00 or more)' }).click();
  await expect(sam.getByRole('status').filter({ hasText: 'Payout batch created: 1 payouts, $34.30 in all.' })).toBeVisible();

  // The refund reversed Victor's sale; the payout took the rest of the balance.
  await chris.goto('/sales');
  await hydrated(chris);
  await expect(chris.getByRole('table', { name: 'Sales' }).getByRole('row').filter({ hasText: 'Victor Viewer' })).toContainText('refunded');
  await expect(chris.getByText('Balance: $0.00')).toBeVisible();
  await expect(chris.getByText('The platform pays you directly once your balance reaches the minimum.')).toBeVisible();
  await victor.reload();
  await expect(victor.getByRole('button', { name: 'Buy for $49.00' })).toBeVisible();

  // The business dashboard adds it up: Fran's Premium is recurring revenue (what she pays: the
  // list price less WELCOME20's 20%), with the seats organizations of other tests pay for;
  // Chris's sales count net of the refund.
  await sam.getByRole('link', { name: 'Business', exact: true }).click();
  await expect(sam.getByRole('heading', { name: 'Business', exact: true })).toBeVisible();
  await hydrated(sam);
  const byPlan = sam.getByRole('table', { name: 'Paying subscribers by plan' });
  await expect(byPlan.getByRole('row').filter({ hasText: 'Premium' })).toContainText('$15.20');
  const cents = (text: string) => Math.round(Number(text.replace(/[^0-9.]/g, '')) * 100);
  const money = (c: number) => `$${(c / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`;
  const mrr = (await byPlan.locator('tbody td:last-child').allTextContents()).reduce((sum, t) => sum + cents(t), 0);
  expect(mrr).toBeGreaterThanOrEqual(1520);
  const figures = sam.getByRole('region', { name: 'Key figures' });
  await expect(figures.getByRole('group', { name: 'MRR', exact: true })).toContainText(money(mrr));
  await expect(figures.getByRole('group', { name: 'ARR', exact: true })).toContainText(money(mrr * 12));
  const byCreator = sam.getByRole('table', { name: 'Revenue by creator' }).getByRole('row').filter({ hasText: 'Chris Creator' });
  await expect(byCreator).toContainText('$49.00');
  await expect(byCreator).toContainText('$34.30');
  await expect(sam.getByRole('img', { name: /^MRR by month from / })).toBeVisible();
  const [csv] = await Promise.all([
    sam.waitForEvent('download'),
    sam.getByRole('button', { name: 'Download CSV' }).click(),
  ]);
  expect(csv.suggestedFilename()).toBe('business.csv');
});

test('a new person tries Premium free for 14 days and cancels before paying', async ({ page }) => {
  await signUp(page, 'Tina Trial', uniqueEmail('tina'));
  await page.goto('/billing');
  await hydrated(page);
  await page.getByRole('button', { name: 'Start a 14-day free trial of Premium' }).click();
  await expect(page.getByRole('heading', { name: 'Your plan: Premium' })).toBeVisible();
  await expect(page.getByText(/^Your trial ends on .*; then the plan costs \$19\.00\.$/)).toBeVisible();
  await expect(page.getByRole('button', { name: /free trial/ })).toHaveCount(0);
  await page.getByRole('button', { name: 'Cancel at the end of the period' }).click();
  await expect(page.getByText(/^Ends on .*; then you are on the free plan\.$/)).toBeVisible();
  await expect(page.getByText('No payments yet.')).toBeVisible();
});
