// Headless Chromium (Debian's, driven by playwright-core) opens GraphiQL on the live server,
// types QUERY into the editor, runs it and reads the result pane. Prints what the page
// requested (and whether anything failed or left localhost), the editor and result texts,
// and saves a screenshot to SCREENSHOT.
import { chromium } from 'playwright-core';

import { graphqlUrl, run } from './lib.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SCREENSHOT = process.env.SCREENSHOT;
const QUERY = process.env.QUERY || '{ products(first: 2) { totalCount edges { node { name } } } }';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
// What this machine's closed network needs, and no background traffic of Chromium's own.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Timings go to stderr, which pytest shows when the test fails.
const T0 = Date.now();
const mark = (what) => process.stderr.write(`${what} ${Date.now() - T0} ms\n`);

await run(async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const requests = [];
    const failed = [];
    const errorResponses = [];
    const pageErrors = [];
    const consoleErrors = [];
    page.on('request', (request) => {
      requests.push({ method: request.method(), url: request.url() });
    });
    page.on('requestfailed', (request) => {
      failed.push({ url: request.url(), error: request.failure()?.errorText ?? null });
    });
    page.on('response', (response) => {
      if (response.status() >= 400) {
        errorResponses.push({ url: response.url(), status: response.status() });
      }
    });
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') {
        consoleErrors.push({ text: message.text(), url: message.location()?.url ?? null });
      }
    });

    const response = await page.goto(graphqlUrl(), { waitUntil: 'networkidle' });
    const pageStatus = response?.status() ?? null;
    mark('loaded');

    // Type the query as a person would: focus the editor, select all, type over it.
    const editor = page.locator('.graphiql-query-editor .CodeMirror').first();
    await editor.waitFor({ state: 'visible', timeout: 15_000 });
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    // GraphiQL closes brackets as they are typed; the closing ones are typed over them.
    await page.keyboard.type(QUERY);
    mark('typed');
    const editorText = await page.evaluate(
      () => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue(),
    );

    // Prettify (GraphiQL's shortcut) so the screenshot shows a readable query.
    await page.keyboard.press('Shift+Control+P');

    const posted = page.waitForResponse(
      (r) => r.request().method() === 'POST' && (r.request().postData() || '').includes('products'),
      { timeout: 15_000 },
    );
    await page.locator('.graphiql-execute-button').click();
    const execution = await posted;
    const resultPane = page.locator('.result-window .CodeMirror');
    await page.waitForFunction(
      () => {
        const cm = document.querySelector('.result-window .CodeMirror');
        return cm && cm.CodeMirror.getValue().includes('"data"');
      },
      null,
      { timeout: 15_000 },
    );
    mark('result');
    const resultText = await resultPane.evaluate((el) => el.CodeMirror.getValue());
    const visibleResult = await page.locator('.result-window').innerText();
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
    mark('screenshot');

    const external = requests.filter((r) => {
      const url = new URL(r.url);
      return !['data:', 'blob:', 'about:'].includes(url.protocol) && !LOCAL_HOSTS.has(url.hostname);
    });
    return {
      pageStatus,
      editorText,
      execution: {
        status: execution.status(),
        contentType: execution.headers()['content-type'] ?? null,
        requestHeaders: execution.request().headers(),
      },
      resultText,
      visibleResult,
      requests,
      external,
      failed,
      errorResponses,
      pageErrors,
      consoleErrors,
    };
  } finally {
    await browser.close();
  }
});
