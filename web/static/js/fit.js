// The counselor's videos fit the space the console leaves them: the number of columns that
// gives the largest 16:9 tiles without the video area scrolling (on a laptop or a tablet).
// On a phone, or with a tile enlarged, the grid keeps its own flowing layout.

const GAP_PX = 8;
const MIN_TILE_PX = 128;
const WIDE_ENOUGH = "(min-width: 45rem) and (min-height: 32rem)";

/**
 * The columns and tile width that fit `count` tiles of 16:9 in width x height.
 * @param {number} count @param {number} width @param {number} height
 * @returns {{columns: number, tile: number}}
 */
export function bestFit(count, width, height) {
  let best = { columns: 1, tile: 0 };
  for (let columns = 1; columns <= Math.max(1, count); columns += 1) {
    const rows = Math.ceil(count / columns);
    const byWidth = (width - GAP_PX * (columns - 1)) / columns;
    const byHeight = ((height - GAP_PX * (rows - 1)) / rows) * (16 / 9);
    const tile = Math.min(byWidth, byHeight);
    if (tile > best.tile) best = { columns, tile };
  }
  return best;
}

export class GridFit {
  /** @param {HTMLElement} media the column holding the screen, the grid and the controls @param {HTMLElement} grid */
  constructor(media, grid) {
    this.media = media;
    this.grid = grid;
    this.wide = window.matchMedia(WIDE_ENOUGH);
    this.pending = false;
    const schedule = () => this.schedule();
    new ResizeObserver(schedule).observe(media);
    new MutationObserver(schedule).observe(media, { subtree: true, childList: true, attributes: true, attributeFilter: ["hidden", "class"] });
    this.wide.addEventListener("change", schedule);
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.apply();
    });
  }

  /** The height the grid may take: the column's, less everything else in it. */
  room() {
    let others = 0;
    for (const child of this.media.children) {
      if (child === this.grid || !(child instanceof HTMLElement) || child.hidden) continue;
      const style = getComputedStyle(child);
      if (style.display === "none") continue;
      others += child.getBoundingClientRect().height + parseFloat(style.marginTop) + parseFloat(style.marginBottom);
    }
    return this.media.clientHeight - others;
  }

  apply() {
    const tiles = this.grid.children.length;
    const flowing = !this.wide.matches || tiles === 0 || this.grid.querySelector(".tile.large") !== null;
    if (flowing) {
      this.grid.style.gridTemplateColumns = "";
      return;
    }
    const fit = bestFit(tiles, this.grid.clientWidth, this.room());
    // Below a usable size the grid scrolls rather than shrink every tile to a stamp.
    const columns = fit.tile >= MIN_TILE_PX ? fit.columns : Math.max(1, Math.floor((this.grid.clientWidth + GAP_PX) / (MIN_TILE_PX + GAP_PX)));
    const tile = fit.tile >= MIN_TILE_PX ? Math.floor(fit.tile) : MIN_TILE_PX;
    const value = `repeat(${columns}, ${tile}px)`;
    if (this.grid.style.gridTemplateColumns !== value) this.grid.style.gridTemplateColumns = value;
  }
}
