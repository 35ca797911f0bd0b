/* Tables marked .stack become labelled cards on a phone (app.css): each cell gets its
   column's header as data-label, unless the template already gave one. */
document.addEventListener("DOMContentLoaded", labelCells);
document.addEventListener("htmx:afterSettle", labelCells);
function labelCells() {
  for (const table of document.querySelectorAll("table.stack")) {
    const heads = [...table.querySelectorAll("thead th")].map(th => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        if (!cell.hasAttribute("data-label") && heads[i]) cell.setAttribute("data-label", heads[i]);
      });
    }
  }
}
