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

  // Questions are changed in place and reordered.
  await page.getByRole('button', { name: 'Edit question Monthly budget' }).click();
  const edit = page.getByRole('form', { name: 'Edit question Monthly budget' });
  await edit.getByLabel('Question', { exact: true }).fill('');
  await edit.getByRole('button', { name: 'Save question' }).click();
  await expect(edit.getByText('Write the question the client answers')).toBeVisible();
  await edit.getByLabel('Question', { exact: true }).fill('Monthly budget (USD)');
  await edit.getByRole('button', { name: 'Save question' }).click();
  const questions = page.getByRole('list', { name: 'Questions of Budget' });
  await expect(questions).toContainText('Monthly budget (USD)');
  await expect(page.getByRole('form', { name: /^Edit question/ })).toHaveCount(0);
  await page.getByRole('button', { name: 'Move question How confident are you? up' }).click();
  await expect(questions.getByRole('listitem').first()).toContainText('How confident are you?');
  await expect(page.getByRole('button', { name: 'Move question How confident are you? up' })).toBeDisabled();

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

test('a creator sells a journey in tiers with a live breakdown and assigns a mentor; a Guided client buys, fills it in and gets a review; the admin sets the journey fee', async ({ page, browser, pageErrors }) => {
  test.setTimeout(120_000);
  const title = `Career compass ${Date.now()}`;
  await signInDemo(page, 'creator@demo.cairn.test', 'Chris Creator');
  await page.goto('/journeys');
  await hydrated(page);
  await page.getByLabel('Journey title').fill(title);
  await page.getByRole('button', { name: 'Create journey' }).click();
  await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Section title').fill('Strengths');
  await page.getByRole('button', { name: 'Add section' }).click();
  const addQuestion = page.getByRole('form', { name: 'Add a question to Strengths' });
  await addQuestion.getByLabel('Question', { exact: true }).fill('What do people thank you for?');
  await addQuestion.getByRole('button', { name: 'Add question' }).click();
  await expect(page.getByRole('list', { name: 'Questions of Strengths' })).toContainText('What do people thank you for?');
  const settings = page.getByRole('form', { name: 'Journey settings' });
  await settings.getByLabel('Published: members can fill it in').check();
  await settings.getByRole('button', { name: 'Save journey' }).click();
  await expect(page.getByRole('form', { name: 'Strengths', exact: true })).toBeVisible();

  // Prices in tiers: the breakdown follows what is typed; a bad amount is named next to its field.
  const prices = page.getByRole('form', { name: 'Tier prices' });
  await prices.getByLabel('Guided monthly price').fill('29');
  await expect(prices.getByText('Guided monthly: the client pays $29.00; the platform fee is $4.35; you receive $24.65.')).toBeVisible();
  await prices.getByLabel('Guided yearly price').fill('290.999');
  await prices.getByRole('button', { name: 'Save tier prices' }).click();
  await expect(prices.getByText('Enter an amount in dollars')).toBeVisible();
  await expect(prices.getByLabel('Guided monthly price')).toHaveValue('29');
  await prices.getByLabel('Guided yearly price').fill('290');
  await prices.getByLabel('Essentials monthly price').fill('19');
  await prices.getByRole('button', { name: 'Save tier prices' }).click();
  await expect(prices.getByRole('status')).toContainText('Tier prices saved: 3 on sale.');

  // With tiers on sale, the creator pays affiliates a commission (a bad one is explained).
  const card = page.getByRole('region', { name: 'Tier prices' });
  await card.getByLabel('Affiliate commission (%)').fill('60');
  await card.getByRole('button', { name: 'Save commission' }).click();
  await expect(card.getByText('A whole number from 0 to 50.')).toBeVisible();
  await card.getByLabel('Affiliate commission (%)').fill('10');
  await card.getByRole('button', { name: 'Save commission' }).click();
  await expect(card.getByText('Affiliates earn 10% of each sale.')).toBeVisible();

  // Mentors review Guided and Premium clients' sections, each review paid at the creator's rate.
  const mentors = page.getByRole('form', { name: 'Add a mentor' });
  await mentors.getByLabel('Mentor', { exact: true }).selectOption({ label: 'Maya Mentor' });
  await mentors.getByLabel('Pay per review (dollars)').fill('twenty');
  await mentors.getByRole('button', { name: 'Save mentor' }).click();
  await expect(mentors.getByText('Enter an amount in dollars')).toBeVisible();
  await mentors.getByLabel('Pay per review (dollars)').fill('20');
  await mentors.getByRole('button', { name: 'Save mentor' }).click();
  await expect(page.getByRole('list', { name: 'Mentors of this journey' })).toContainText('Maya Mentor — $20.00 a review');

  // A client sees the tiers, not the form, until they buy one.
  const clara = await newPage(browser, pageErrors);
  await clara.setViewportSize({ width: 375, height: 800 });
  await signInDemo(clara, 'client@demo.cairn.test', 'Clara Client');
  await clara.goto('/journeys');
  await hydrated(clara);
  await expect(clara.getByRole('listitem').filter({ hasText: title })).toContainText('from $19.00 a month');
  await clara.getByRole('link', { name: title }).click();
  await hydrated(clara);
  const tiers = clara.getByRole('region', { name: 'Choose a tier' });
  await expect(tiers).toContainText('Strengths');
  await expect(clara.getByRole('form', { name: 'Strengths', exact: true })).toHaveCount(0);
  await tiers.getByLabel('Promo code').fill('NOSUCHCODE');
  await tiers.getByRole('button', { name: 'Buy Guided for $290.00 a year' }).click();
  await expect(tiers.getByText('No such code.')).toBeVisible();
  await tiers.getByLabel('Promo code').fill('');
  await tiers.getByRole('button', { name: 'Buy Guided for $290.00 a year' }).click();
  await expect(clara).toHaveURL(/\/billing\/checkout\//);
  await hydrated(clara);
  await clara.getByRole('button', { name: 'Pay $290.00 (test payment)' }).click();
  await expect(clara.getByRole('status').filter({ hasText: 'Payment received' })).toBeVisible();
  await clara.getByRole('link', { name: 'Continue' }).click();
  await hydrated(clara);
  const section = clara.getByRole('form', { name: 'Strengths', exact: true });
  await section.getByLabel('What do people thank you for?').fill('Calm in a crisis');
  await section.getByRole('button', { name: 'Submit section' }).click();
  const submitted = clara.getByRole('region', { name: 'Strengths', exact: true });
  await expect(submitted.getByRole('status').first()).toContainText('Submitted');
  // The Guided tier brings a mentor's review of the submitted section.
  const ask = clara.getByRole('form', { name: 'Ask for a review of Strengths' });
  await expect(ask.getByLabel('Mentor')).toHaveValue(/.+/);
  await ask.getByRole('button', { name: 'Ask for a review' }).click();
  await expect(submitted.getByText('Review requested from Maya Mentor')).toBeVisible();
  // Members may share it for the commission: one link for the whole journey.
  const share = clara.getByRole('region', { name: 'Share and earn' });
  await expect(share).toContainText('earn 10% of each sale');
  await share.getByRole('button', { name: 'Get my affiliate link' }).click();
  await expect(share.getByLabel('Your affiliate link')).toHaveValue(/\/r\/[a-z0-9]{12}$/);
  const width = await clara.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(375);

  // The mentor reviews it at 375 px; the client reads the feedback.
  const maya = await newPage(browser, pageErrors);
  await maya.setViewportSize({ width: 375, height: 800 });
  await signInDemo(maya, 'mentor@demo.cairn.test', 'Maya Mentor');
  await maya.goto('/reviews');
  await hydrated(maya);
  const asked = maya.getByRole('article').filter({ hasText: title });
  await expect(asked).toContainText('Calm in a crisis');
  await expect(asked).toContainText('pays you $17.00');
  const review = asked.getByRole('form', { name: 'Review of Strengths by Clara Client' });
  await review.getByRole('button', { name: 'Complete review' }).click();
  await expect(review.getByText('Write your feedback')).toBeVisible();
  await review.getByLabel('Feedback').fill('Name one crisis and what you did: that is your story.');
  await review.getByRole('button', { name: 'Complete review' }).click();
  const done = maya.getByRole('list', { name: 'Completed reviews' });
  await expect(done).toContainText('Strengths — Clara Client');
  await expect(done).toContainText('earned $17.00');
  expect(await maya.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await clara.reload();
  await hydrated(clara);
  const feedback = clara.getByRole('region', { name: 'Mentor feedback on Strengths' });
  await expect(feedback).toContainText('Name one crisis and what you did: that is your story.');
  // The client rates the review; the mentor sees the rating on their desk.
  const rateReview = feedback.getByRole('form', { name: 'Rate the review of Strengths' });
  await rateReview.getByLabel('Your rating').selectOption('4');
  await rateReview.getByRole('button', { name: 'Rate', exact: true }).click();
  await expect(feedback.getByText('You rated the review of Strengths 4 of 5.')).toBeVisible();
  await maya.reload();
  await hydrated(maya);
  await expect(maya.getByRole('list', { name: 'Completed reviews' }).getByRole('listitem').filter({ hasText: title }))
    .toContainText('rated 4 of 5');

  // The creator sees the sale with all but the 15% journey fee.
  await page.goto('/sales');
  await hydrated(page);
  const sale = page.getByRole('table', { name: 'Sales' }).getByRole('row').filter({ hasText: title });
  await expect(sale).toContainText('Clara Client');
  await expect(sale).toContainText('$246.50');

  // The platform admin sets the fee for sales from now on.
  const sam = await newPage(browser, pageErrors);
  await signInDemo(sam, 'sysadmin@demo.cairn.test', 'Sam Sysadmin');
  await sam.goto('/admin/billing');
  await hydrated(sam);
  const fee = sam.getByRole('form', { name: 'Journey fee' });
  await expect(fee.getByLabel('Journey fee (percent of each sale)')).toHaveValue('15');
  await fee.getByLabel('Journey fee (percent of each sale)').fill('75');
  await fee.getByRole('button', { name: 'Save journey fee' }).click();
  await expect(fee.getByText('A percentage from 0 to 50')).toBeVisible();
  await fee.getByLabel('Journey fee (percent of each sale)').fill('15');
  await fee.getByRole('button', { name: 'Save journey fee' }).click();
  await expect(fee.getByRole('status')).toContainText('Journey fee saved: 15%.');
});

test('a client asks a concierge for a session on the demo journey and cancels another; the concierge confirms the first and completes it with notes the client reads', async ({ page, browser, pageErrors }) => {
  test.setTimeout(90_000);
  const stamp = `${Date.now()}`;
  await signInDemo(page, 'client@demo.cairn.test', 'Clara Client');
  await page.goto('/journeys');
  await hydrated(page);
  await page.getByRole('link', { name: 'Quarterly reset' }).click();
  await hydrated(page);
  const sessions = page.getByRole('region', { name: 'Concierge sessions' });
  const ask = sessions.getByRole('form', { name: 'Ask for a session' });
  await expect(ask.getByLabel('Concierge')).toHaveValue(/.+/);
  const when = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 16);
  await ask.getByLabel('When (your time)').fill(when);
  await ask.getByRole('button', { name: 'Ask for a session' }).click();
  await expect(ask.getByText('Say what you would like help with')).toBeVisible();
  await expect(ask.getByLabel('When (your time)')).toHaveValue(when);
  await ask.getByLabel('What would you like help with?').fill(`Planning my first step ${stamp}`);
  await ask.getByRole('button', { name: 'Ask for a session' }).click();
  const yours = sessions.getByRole('list', { name: 'Your sessions' }).getByRole('listitem');
  const mine = yours.filter({ hasText: `Planning my first step ${stamp}` });
  await expect(mine).toContainText('With Conrad Concierge');
  await expect(mine).toContainText('asked, waiting for confirmation');

  // A second request, called off before the concierge answers it.
  await ask.getByLabel('When (your time)').fill(when);
  await ask.getByLabel('What would you like help with?').fill(`Second thoughts ${stamp}`);
  await ask.getByRole('button', { name: 'Ask for a session' }).click();
  const second = yours.filter({ hasText: `Second thoughts ${stamp}` });
  await second.getByRole('button', { name: 'Cancel the session with Conrad Concierge', exact: true }).click();
  await expect(second).toContainText('canceled by you');
  await expect(second.getByRole('button')).toHaveCount(0);
  await expect(mine.getByRole('button', { name: 'Cancel the session with Conrad Concierge', exact: true })).toBeVisible();

  // The client moves the first a day later (a missing time is explained); it waits for the
  // concierge's confirmation again.
  const before = await mine.locator('time').getAttribute('datetime');
  const move = mine.getByRole('form', { name: 'Move the session with Conrad Concierge' });
  await move.getByRole('button', { name: 'Move session' }).click();
  await expect(move.getByText('Choose a date and time')).toBeVisible();
  const later = new Date(Date.now() + 4 * 86_400_000).toISOString().slice(0, 16);
  await move.getByLabel('New time (your time)').fill(later);
  await move.getByRole('button', { name: 'Move session' }).click();
  await expect(mine.locator('time')).not.toHaveAttribute('datetime', before ?? '');
  await expect(mine).toContainText('asked, waiting for confirmation');

  // The concierge, on a phone: confirm, then complete with notes (a blank note is explained).
  const conrad = await newPage(browser, pageErrors);
  await conrad.setViewportSize({ width: 375, height: 800 });
  await signInDemo(conrad, 'concierge@demo.cairn.test', 'Conrad Concierge');
  await conrad.goto('/sessions');
  await hydrated(conrad);
  await expect(conrad.getByRole('heading', { level: 1, name: 'Sessions' })).toBeVisible();
  const card = conrad.getByRole('article').filter({ hasText: stamp });
  await expect(card).toContainText('pays you $34.00');
  await expect(card).toHaveCount(1);
  await expect(conrad.getByRole('list', { name: 'Canceled sessions' }).getByRole('listitem').filter({ hasText: `Second thoughts ${stamp}` }))
    .toContainText('canceled by Clara Client');
  await card.getByRole('button', { name: 'Confirm session' }).click();
  const notes = conrad.getByRole('article').filter({ hasText: stamp }).getByRole('form', { name: 'Notes on the session with Clara Client' });
  await notes.getByRole('button', { name: 'Complete session' }).click();
  await expect(notes.getByText('Write your notes')).toBeVisible();
  await notes.getByLabel('Notes for the client').fill('Start on Monday: ten minutes of planning before email.');
  await notes.getByRole('button', { name: 'Complete session' }).click();
  await expect(conrad.getByRole('list', { name: 'Completed sessions' })).toContainText('earned $34.00');
  expect(await conrad.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);

  await page.reload();
  await hydrated(page);
  const done = page.getByRole('list', { name: 'Your sessions' }).getByRole('listitem').filter({ hasText: `Planning my first step ${stamp}` });
  await expect(done).toContainText('done');
  await expect(done).toContainText('Start on Monday: ten minutes of planning before email.');
  const rateSession = done.getByRole('form', { name: 'Rate the session with Conrad Concierge' });
  await rateSession.getByLabel('Your rating').selectOption('5');
  await rateSession.getByRole('button', { name: 'Rate', exact: true }).click();
  await expect(done).toContainText('You rated the session with Conrad Concierge 5 of 5.');
});
