// orders-cqrs ops page: refresh the live part in place (console.js posts the forms).
// No external code. The page works without this script (a <noscript> meta refresh reloads it).
(() => {
  "use strict";

  let live = null;
  let timer = null;
  let busy = false;

  async function refresh() {
    if (!live || busy || document.hidden) return;
    const part = live;
    busy = true;
    try {
      const response = await fetch(part.dataset.src, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
        cache: "no-store",
      });
      if (response.status === 401) {
        location.assign("/ops/login");
        return;
      }
      if (!response.ok) throw new Error(`status ${response.status}`);
      part.innerHTML = await response.text();
      announce(part);
    } catch (error) {
      const note = part.querySelector("[data-refresh-state]");
      if (note) note.textContent = "· refresh failed, retrying";
    } finally {
      busy = false;
    }
  }

  // The live region (outside the refreshed part) takes the new summary only when it changed:
  // a screen reader then says what changed, not the whole page.
  function announce(part) {
    const status = document.getElementById("ops-status");
    const next = part.querySelector("[data-live-summary]");
    if (status && next && status.textContent !== next.textContent) {
      status.textContent = next.textContent;
    }
  }

  // On every page the console shows (the sign-in form, then the page): refresh its live part,
  // if it has one.
  document.addEventListener("console:ready", () => {
    clearInterval(timer);
    live = document.getElementById("live");
    if (live) timer = setInterval(refresh, Number(live.dataset.refreshSeconds || "10") * 1000);
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
})();
