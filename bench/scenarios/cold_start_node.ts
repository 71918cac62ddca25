/**
 * Cold start under Node: a new `node` process until the first row, the npm
 * build of @dewey/db (`scripts/build_npm.ts`, npm-installed from its tarball
 * into a scratch project, as a user installs it) against raw postgres.js, on
 * Node 22 (npm's `node@22`). The children are `bench/children/cold_*_node.mjs`.
 *
 * @module
 */

import { cachedProject, nodeTools } from "../../tests/helpers/node.ts";
import { timeToMarker } from "../child.ts";
import { OURS, RAW } from "../contenders.ts";
import type { Sample } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";
import { coldRounds, coldStartResult, RAW_OURS, RAW_ZOD } from "./cold_start.ts";

const CHILDREN = ["cold_ours_node.mjs", "cold_raw_node.mjs"];

/** The scenario. */
export const coldStartNode: Scenario = {
  id: "cold-start-node",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const tools = await nodeTools();
    const app = await Deno.makeTempDir({ dir: await cachedProject("app"), prefix: "bench-" });
    try {
      for (const file of CHILDREN) {
        await Deno.copyFile(new URL(`../children/${file}`, import.meta.url), `${app}/${file}`);
      }
      const child = (file: string, ...args: string[]) => async (): Promise<Sample> => ({
        value: (await timeToMarker(tools.node22, [file, ctx.url.href, ...args], { cwd: app, marker: "ROW" })).toMarker,
      });
      const scripts: Record<string, () => Promise<Sample>> = {
        [OURS]: child("cold_ours_node.mjs"),
        [RAW]: child("cold_raw_node.mjs"),
        [RAW_ZOD]: child("cold_raw_node.mjs", "zod/mini"),
        [RAW_OURS]: child("cold_raw_node.mjs", "@dewey/db"),
      };
      const samples = await coldRounds(ctx, (name) => scripts[name]);
      const version = new TextDecoder().decode(
        (await new Deno.Command(tools.node22, { args: ["--version"] }).output()).stdout,
      );
      return coldStartResult("cold-start-node", "Cold start under Node: new process to first row", samples, "Node", [
        `Spawn of \`node\` (${version.trim()}) to the child's first printed row; the npm build installed from its ` +
        "packed tarball; one warm-up round.",
      ]);
    } finally {
      await Deno.remove(app, { recursive: true });
    }
  },
};
