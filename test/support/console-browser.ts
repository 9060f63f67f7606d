/**
 * A real Chromium (Debian's `chromium` package, or CHROMIUM_PATH) driven by playwright-core for the
 * console's browser tests, with the checks every page gets: no script error, no CSP violation, and
 * an axe-core run without serious or critical findings. Screenshots go to test-artifacts/console/.
 * Without a Chromium the suites skip with a printed reason, except under CI=true, where they fail.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";

const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const hasChromium = existsSync(chromiumPath);

if (!hasChromium) {
  if (process.env.CI === "true")
    throw new Error(`Chromium is required when CI=true (looked for ${chromiumPath})`);
  console.warn(
    `console browser tests skipped: no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

export const ARTIFACTS_DIR = fileURLToPath(new URL("../../test-artifacts/console/", import.meta.url));

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu"] });
}

/** Page problems seen so far: uncaught errors and CSP refusals (the console must need neither inline code nor other origins). */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  return problems;
}

/** Saves a full-page screenshot under test-artifacts/console/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS_DIR}${name}.png`, fullPage: true });
}

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, so the page's CSP stays on)
 * and fails on any serious or critical violation, naming the rule and the elements.
 */
export async function expectNoSeriousA11yViolations(page: Page): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => n.target.join(" ")),
    }));
  });
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious, JSON.stringify(serious, null, 2)).toEqual([]);
}

interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: Array<{ target: string[] }>;
}
