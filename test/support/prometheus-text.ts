/**
 * Reading Prometheus text-format scrapes in tests: the value of one series, written exactly as it
 * appears, e.g. `herald_deliveries_total{method="pull",outcome="sent"}`; undefined when absent.
 */
export function sampleValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Fetches a scrape URL and returns the body, failing on anything but 200. */
export async function scrape(url: string | undefined): Promise<string> {
  if (url === undefined) throw new Error("the server exposes no metrics URL");
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  return response.text();
}
