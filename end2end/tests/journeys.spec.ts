import { expect } from '@playwright/test';
import { hydrated, newPage, signInDemo, test } from './helpers';

test('an editor builds and publishes a journey; a viewer fills a section in, fixes what was wrong and submits it for a score', async ({ page, browser, pageErrors }) => {
  const title = `Moving house ${Date.now()}`;
  await signInDemo(page, 'editor@demo.cairn.test', 'Edith Editor');
  await page.goto('/journeys');
  await hydrated(page);
  await page.getByLabel('Journey title').fill(title);
  await page.getByLabel('What it helps with').fill('Plan the move week by week.');
  await page.getByRole('button', { name: 'Create journey' }).click();
  await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
  await hydrated(page);

  await page.getByLabel('Section title').fill('Budget');
  await page.getByRole('button', { name: 'Add section' }).click();
  const addQuestion = page.getByRole('form', { name: 'Add a question to Budget' });
  // A question needs its text: the error shows next to the field.
  await addQuestion.getByRole('button', { name: 'Add question' }).click();
  await expect(addQuestion.getByText('Write the question the client answers')).toBeVisible();
  await addQuestion.getByLabel('Question', { exact: true }).fill('Monthly budget');
  await addQuestion.getByLabel('Answer type').selectOption('number');
  await addQuestion.getByLabel('An answer is required').check();
  await addQuestion.getByRole('button', { name: 'Add question' }).click();
  await expect(page.getByRole('list', { name: 'Questions of Budget' })).toContainText('Monthly budget');

  const again = page.getByRole('form', { name: 'Add a question to Budget' });
  await again.getByLabel('Question', { exact: true }).fill('How confident are you?');
  await again.getByLabel('Answer type').selectOption('scale');
  await again.getByLabel('An answer is required').check();
  await again.getByLabel('Counts towards the score').check();
  await again.getByRole('button', { name: 'Add question' }).click();
  await expect(page.getByRole('list', { name: 'Questions of Budget' })).toContainText('How confident are you?');

  const settings = page.getByRole('form', { name: 'Journey settings' });
  await settings.getByLabel('Published: members can fill it in').check();
  await settings.getByRole('button', { name: 'Save journey' }).click();
  await expect(page.getByRole('form', { name: 'Budget', exact: true })).toBeVisible();

  const viewer = await newPage(browser, pageErrors);
  await viewer.setViewportSize({ width: 375, height: 800 });
  await signInDemo(viewer, 'viewer@demo.cairn.test', 'Victor Viewer');
  await viewer.goto('/journeys');
  await hydrated(viewer);
  await expect(viewer.getByRole('button', { name: 'Create journey' })).toHaveCount(0);
  await viewer.getByRole('link', { name: title }).click();
  await expect(viewer.getByRole('heading', { level: 1, name: title })).toBeVisible();
  await hydrated(viewer);
  const section = viewer.getByRole('form', { name: 'Budget', exact: true });
  await section.getByLabel('Monthly budget').fill('about a thousand');
  await section.getByRole('button', { name: 'Submit section' }).click();
  await expect(section.getByRole('alert').first()).toContainText('2 answers need attention');
  await expect(section.getByText('Write a number, e.g. 42 or 3.5.')).toBeVisible();
  await expect(section.getByText('This question needs an answer.')).toBeVisible();
  // Nothing typed is lost.
  await expect(section.getByLabel('Monthly budget')).toHaveValue('about a thousand');
  await expect(section.getByLabel('Monthly budget')).toHaveAttribute('aria-invalid', 'true');

  await section.getByLabel('Monthly budget').fill('1200');
  await section.getByLabel('How confident are you?').selectOption('8');
  await section.getByRole('button', { name: 'Submit section' }).click();
  const done = viewer.getByRole('region', { name: 'Budget', exact: true });
  await expect(done.getByRole('status')).toContainText('Submitted');
  await expect(done.getByRole('status')).toContainText('Score 8 / 10');
  await expect(done.getByRole('button', { name: 'Submit section' })).toHaveCount(0);
  await expect(viewer.getByText('1 of 1 sections submitted')).toBeVisible();
  const width = await viewer.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(375);

  // The editor reads the submission.
  await page.reload();
  await hydrated(page);
  const submissions = page.getByRole('region', { name: 'Submissions' });
  await expect(submissions).toContainText('Victor Viewer');
  await expect(submissions).toContainText('1200');
  await expect(submissions).toContainText('Score 8 / 10');
});
