// orders-cqrs ops page: refresh the live part in place, and post forms as JSON.
// No external code. The page works without this script (a <noscript> meta refresh reloads it).
(function () {
  "use strict";

  function startRefresh() {
    const live = document.getElementById("live");
    if (!live) return;
    const seconds = Number(live.dataset.refreshSeconds || "10");
    const state = () => live.querySelector("[data-refresh-state]");
    let busy = false;

    async function refresh() {
      if (busy || document.hidden) return;
      busy = true;
      try {
        const response = await fetch(live.dataset.src, {
          credentials: "same-origin",
          headers: { Accept: "text/html" },
          cache: "no-store",
        });
        if (response.status === 401) {
          location.assign("/ops/login");
          return;
        }
        if (!response.ok) throw new Error(`status ${response.status}`);
        live.innerHTML = await response.text();
      } catch (error) {
        const note = state();
        if (note) note.textContent = "· refresh failed, retrying";
      } finally {
        busy = false;
      }
    }

    setInterval(refresh, seconds * 1000);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) refresh();
    });
  }

  // The service's body guard admits JSON bodies only, so forms post their fields as JSON.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-json-form")) return;
    event.preventDefault();
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/html" },
        body: JSON.stringify(Object.fromEntries(new FormData(form))),
        credentials: "same-origin",
      });
      if (response.redirected) {
        location.assign(response.url);
        return;
      }
      const next = new DOMParser().parseFromString(await response.text(), "text/html");
      document.title = next.title;
      document.body.replaceWith(next.body);
    } catch (error) {
      if (button) button.disabled = false;
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startRefresh);
  } else {
    startRefresh();
  }
})();
