// app.js: the UI's only script, loaded as a module (the Content-Security-
// Policy allows scripts from sluice itself only, never inline). Pages work
// without it; it adds live updates to run pages.
import { watch } from "./live.js";

for (const el of document.querySelectorAll("[data-live-src][data-live-active]")) {
  watch(el);
}
