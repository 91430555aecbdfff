import type { Page } from "playwright-core";

/**
 * Records every distinct text length of the element matching `selector` while it exists, from
 * inside the page (so fast token streams are not missed between polls). Returns a reader.
 */
export async function watchTextLengths(p: Page, selector: string) {
  await p.evaluate((sel) => {
    const w = window as unknown as { __lengths: number[]; __observer?: MutationObserver };
    w.__observer?.disconnect();
    w.__lengths = [];
    const record = () => {
      const len = document.querySelector(sel)?.textContent?.length ?? 0;
      if (len > 0 && w.__lengths[w.__lengths.length - 1] !== len) w.__lengths.push(len);
    };
    w.__observer = new MutationObserver(record);
    w.__observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  }, selector);
  return () => p.evaluate(() => (window as unknown as { __lengths: number[] }).__lengths.slice());
}
