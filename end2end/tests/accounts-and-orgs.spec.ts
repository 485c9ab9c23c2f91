import { expect } from '@playwright/test';
import { hydrated, linkFromMailbox, newPage, signUp, test, uniqueEmail } from './helpers';

test('forms check input in the browser and keep what was typed', async ({ page }) => {
  await page.goto('/sign-up');
  await hydrated(page);
  const email = page.getByLabel('Email');
  await page.getByLabel('Your name').fill('Ada');
  await email.fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByText('Enter an email address like name@example.com.')).toBeVisible();
  await expect(page.getByText('Use at least 10 characters.')).toBeVisible();
  await expect(email).toHaveAttribute('aria-invalid', 'true');
  await expect(email).toHaveValue('not-an-email');
  await expect(page.getByLabel('Your name')).toHaveValue('Ada');

  // The server's answer appears next to its field too, and nothing typed is lost.
  await page.goto('/sign-in');
  await hydrated(page);
  await page.getByLabel('Email').fill('nobody-e2e@example.com');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('That email and password do not match an account.')).toBeVisible();
  await expect(page.getByLabel('Email')).toHaveValue('nobody-e2e@example.com');
});

test('sign up, verify, create an organization, invite, and roles decide who may edit', async ({ page, browser, pageErrors }) => {
  const ownerEmail = uniqueEmail('owner');
  await signUp(page, 'Olivia Owner', ownerEmail);

  // A new organization becomes the active one.
  await page.goto('/orgs');
  await hydrated(page);
  await page.getByLabel('Organization name').fill('Playwright Coaching');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page.getByRole('heading', { name: 'Members of Playwright Coaching' })).toBeVisible();
  // Creating reloads the page: until it hydrates, "Send invitation" would post the plain form.
  await hydrated(page);

  // Invite an Editor and a Viewer.
  const editorEmail = uniqueEmail('editor');
  const viewerEmail = uniqueEmail('viewer');
  for (const [email, role] of [[editorEmail, 'Editor'], [viewerEmail, 'Viewer']]) {
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Role', { exact: true }).selectOption({ label: role });
    await page.getByRole('button', { name: 'Send invitation', exact: true }).click();
    await expect(page.getByRole('status').filter({ hasText: `Invitation sent to ${email}.` })).toBeVisible();
  }
  await expect(page.getByRole('button', { name: `Revoke invitation to ${viewerEmail}` })).toBeVisible();

  // Each accepts in a browser of their own.
  const accept = async (email: string, name: string) => {
    const other = await newPage(browser, pageErrors);
    const invite = await linkFromMailbox(other, email, `Olivia Owner invited you to Playwright Coaching on Cairn`);
    await other.goto(invite);
    await hydrated(other);
    await expect(other.getByText('You are invited to join Playwright Coaching')).toBeVisible();
    await signUp(other, name, email, invite);
    await other.goto(invite);
    await hydrated(other);
    await other.getByRole('button', { name: 'Accept invitation' }).click();
    await expect(other.getByRole('heading', { name: `Welcome, ${name}` })).toBeVisible();
    await expect(other.getByRole('heading', { name: 'Playwright Coaching' })).toBeVisible();
    return other;
  };
  const editor = await accept(editorEmail, 'Edith Editor');
  await expect(editor.getByText('Your role:')).toContainText('Editor');
  const viewer = await accept(viewerEmail, 'Victor Viewer');
  await expect(viewer.getByText('Your role:')).toContainText('Viewer');

  // The free plan seats five; the owner buys six seats of Team for the organization.
  await page.goto('/org/members');
  await hydrated(page);
  await expect(page.getByText('Seats taken: 3 of 5')).toBeVisible();
  await page.getByLabel('Plan for the organization').selectOption('team');
  await page.getByLabel('Seats', { exact: true }).fill('3');
  await page.getByRole('button', { name: 'Choose plan' }).click();
  await expect(page.getByText('Team is for 5 to 50 people.')).toBeVisible();
  await page.getByLabel('Seats', { exact: true }).fill('6');
  await expect(page.getByRole('status').filter({ hasText: 'Total: $72.00 a month for 6 seats' })).toBeVisible();
  // A promo code: an unknown one is refused next to its field, the demo's WELCOME20 takes 20% off.
  await page.getByLabel("Promo code for the organization's plan").fill('NOT-A-CODE');
  await page.getByRole('button', { name: 'Choose plan' }).click();
  await expect(page.getByText('No such code.')).toBeVisible();
  await page.getByLabel("Promo code for the organization's plan").fill('welcome20');
  await page.getByRole('button', { name: 'Choose plan' }).click();
  await page.getByRole('button', { name: 'Pay $57.60 (test payment)' }).click();
  await page.getByRole('link', { name: 'Continue' }).click();
  await expect(page.getByText('Seats taken: 3 of 6')).toBeVisible();
  await expect(page.getByText(/Renews on .* for \$57\.60 \(promo code WELCOME20\)\./)).toBeVisible();

  // The Editor writes a prompt and may edit it.
  await editor.goto('/prompts');
  await hydrated(editor);
  await editor.getByRole('link', { name: 'New prompt' }).click();
  await hydrated(editor);
  await editor.getByLabel('Title').fill('Weekly reflection');
  await editor.getByLabel('Prompt text').fill('Ask three questions about the week.');
  await editor.getByRole('button', { name: 'Create prompt' }).click();
  await expect(editor.getByRole('heading', { name: 'Weekly reflection' })).toBeVisible();
  await expect(editor.getByRole('button', { name: 'Edit' })).toBeVisible();
  await expect(editor.getByRole('button', { name: 'Delete prompt' })).toBeVisible();

  // The Viewer reads it but cannot edit, delete or create.
  await viewer.goto('/prompts');
  await hydrated(viewer);
  await expect(viewer.getByRole('link', { name: 'New prompt' })).toHaveCount(0);
  await viewer.getByRole('article', { name: 'Weekly reflection' }).getByRole('link').click();
  await expect(viewer.getByRole('heading', { name: 'Weekly reflection' })).toBeVisible();
  await hydrated(viewer);
  await expect(viewer.getByRole('button', { name: 'Edit' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Delete prompt' })).toHaveCount(0);
  await viewer.goto('/prompts/new');
  await expect(viewer.getByText('As a Viewer you can read prompts')).toBeVisible();

  // The owner sees all three members and the audit trail.
  await page.goto('/org/members');
  await expect(page.getByRole('cell', { name: editorEmail })).toBeVisible();
  await expect(page.getByRole('cell', { name: viewerEmail })).toBeVisible();
  await page.goto('/org/audit');
  await expect(page.getByRole('cell', { name: 'invitation.accepted' }).first()).toBeVisible();
  await expect(page.getByRole('link', { name: 'Export as CSV' })).toBeVisible();
});
