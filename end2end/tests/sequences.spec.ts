import { expect, Page } from '@playwright/test';
import { hydrated, newPage, signInDemo, test } from './helpers';

/** Picks an option of a labelled select by its visible text. */
async function choose(page: Page, label: string, option: string) {
  await page.getByLabel(label, { exact: true }).selectOption({ label: option });
}

/** Types into a labelled field and leaves it (the builder saves a field when it changes). */
async function type(page: Page, label: string, value: string) {
  const field = page.getByLabel(label, { exact: true });
  await field.fill(value);
  await field.press('Tab');
}

test('a creator builds, simulates and publishes a sequence; a member runs it live to a checkpoint the creator approves', async ({ page, browser, pageErrors }) => {
  test.setTimeout(90_000);
  const title = `Sleep check ${Date.now()}`;
  await signInDemo(page, 'owner@demo.cairn.test', 'Olivia Owner');

  // A new sequence starts from a greeting, a question and the end.
  await page.goto('/sequences');
  await hydrated(page);
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: 'Create sequence' }).click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
  await hydrated(page);

  // The greeting goes out at a time of day (the subscriber's preferred time replaces it).
  await page.getByRole('button', { name: 'Message Welcome' }).click();
  await choose(page, 'When', 'At a time of day');
  // The question: asked right after the greeting, answered yes or no.
  await page.getByRole('button', { name: 'Question Your goal' }).click();
  await choose(page, 'When', 'Right after the previous step');
  await choose(page, 'Answer', 'Yes or no');

  // A branch and a checkpoint, added at the end and moved above it by keyboard-operable buttons.
  await choose(page, 'New step', 'Branch');
  await page.getByRole('button', { name: 'Add step' }).click();
  await page.getByRole('button', { name: 'Move Branch up' }).click();
  // Validation shows on the step it concerns.
  const branch = page.getByRole('listitem').filter({ has: page.getByRole('button', { name: 'Branch Branch' }) });
  await expect(branch).toContainText('Add at least one rule.');
  await expect(page.getByRole('button', { name: 'Publish' })).toBeDisabled();
  await choose(page, 'New step', 'Checkpoint');
  await page.getByRole('button', { name: 'Add step' }).click();
  await page.getByRole('button', { name: 'Move Checkpoint up' }).click();

  await page.getByRole('button', { name: 'Branch Branch' }).click();
  await type(page, 'When the answer stored as', 'goal_text');
  await type(page, 'Value', 'yes');
  await choose(page, '…go to', 'End (end)');
  await choose(page, 'Otherwise go to', 'Checkpoint (step5)');
  await expect(page.getByRole('button', { name: 'Publish' })).toBeEnabled();

  // The flow shows every step.
  await expect(page.getByRole('img', { name: 'Flow of 5 steps' })).toBeVisible();

  // Simulate: the greeting and the question, then "no" leads to the checkpoint.
  await page.getByRole('button', { name: 'Start simulation' }).click();
  await page.getByRole('button', { name: 'Fast-forward' }).click();
  const transcript = page.getByRole('list', { name: 'Simulated conversation' });
  await expect(transcript).toContainText("Let's get started.");
  await expect(transcript).toContainText('What would you like to achieve?');
  await page.getByLabel('Answer as the test subscriber').fill('no');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await expect(transcript).toContainText('Checkpoint: Approve the next step?');

  // Shared with the organization and published.
  await page.getByText('Details').click();
  await choose(page, 'Visibility', 'organization');
  await page.getByRole('button', { name: 'Publish' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Published version 1.' })).toBeVisible();

  // A member subscribes with a preferred time; nothing is sent before it.
  const member = await newPage(browser, pageErrors);
  await signInDemo(member, 'viewer@demo.cairn.test', 'Victor Viewer');
  await member.goto('/sequences');
  await hydrated(member);
  await member.getByRole('link', { name: title }).click();
  await expect(member.getByRole('heading', { name: title })).toBeVisible();
  await hydrated(member);
  await member.getByLabel('Preferred time').fill('08:00');
  await member.getByRole('button', { name: 'Subscribe' }).click();
  await expect(member).toHaveURL(/\/inbox\/[0-9a-f-]+$/);
  const messages = member.getByRole('log', { name: 'Messages' });
  await hydrated(member);
  await expect(messages).not.toContainText('Hi Victor, welcome!');
  // Preferences being edited (not saved yet) stay through the live messages below.
  await member.getByText('Delivery preferences', { exact: true }).click();
  await member.getByLabel('Quiet hours from').fill('22:30');

  // The server's test clock moves to the preferred time: the first messages arrive live.
  const moved = await member.request.post('/api/advance_clock', { data: { to_next_due: true } });
  expect(moved.status()).toBe(200);
  await expect(messages).toContainText('Hi Victor, welcome!', { timeout: 15_000 });
  await expect(messages).toContainText('What would you like to achieve?');
  await expect(member.getByLabel('Quiet hours from')).toHaveValue('22:30');
  await hydrated(member);

  // A wrong kind of answer is refused next to the field; "no" takes the checkpoint path.
  await member.getByLabel('Your answer').fill('maybe');
  await member.getByRole('button', { name: 'Send' }).click();
  await expect(member.getByText('Answer yes or no.')).toBeVisible();
  await member.getByLabel('Your answer').fill('no');
  await member.getByRole('button', { name: 'Send' }).click();
  await expect(member.getByText('waiting for a decision')).toBeVisible();

  // The creator approves from the queue; the member's open conversation completes live.
  await page.goto('/decisions');
  await hydrated(page);
  const decision = page.getByRole('listitem', { name: 'Decision for Victor Viewer' }).filter({ hasText: title });
  await decision.getByRole('button', { name: 'Approve' }).click();
  await expect(decision).toHaveCount(0);
  await expect(member.getByText(/completed · step \d of \d · 100%/)).toBeVisible({ timeout: 15_000 });

  // The creator sees how it went, step by step, and keeps the sequence as a template.
  await page.getByRole('link', { name: 'Sequences' }).click();
  await page.getByRole('link', { name: title }).click();
  await hydrated(page);
  const stats = page.getByRole('region', { name: 'How it is going' });
  await expect(stats).toContainText('1 subscriber: 0 running, 1 completed, 0 left.');
  await expect(stats.getByRole('row', { name: /^Your goal\s+1\s+1\s+100%\s+0\s+0$/ })).toBeVisible();
  await page.getByRole('button', { name: 'Save as template' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved as a template' })).toBeVisible();
  await page.goto('/sequences');
  await hydrated(page);
  await page.getByLabel('Start from').selectOption({ label: `Your organization's template: ${title}` });
});
