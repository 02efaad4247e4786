import { mount } from "svelte";
import "./app.css";

const target = document.getElementById("app");
if (!target) throw new Error("the page has no #app element");

// The app is imported dynamically so that a failure while loading it shows up in the window,
// not as a blank page.
import("./App.svelte")
  .then(({ default: App }) => {
    // Tauri's freezePrototype would freeze Object.prototype before any script runs, but
    // Cytoscape.js assigns `toString` on its own prototypes while loading, which a frozen
    // Object.prototype turns into a TypeError (the "override mistake"). So the page freezes it
    // here, once every module has loaded and before any data from Rust arrives.
    Object.freeze(Object.prototype);
    return mount(App, { target });
  })
  .catch((e: unknown) => {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = `Keyloom could not start its window: ${e instanceof Error ? e.message : String(e)}`;
    target.replaceChildren(p);
  });
