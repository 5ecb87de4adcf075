import { runEngineScenario, memoryPerUserState } from '/work/wt/bench/bench/engine.ts';
for (const [c,u] of [[1000,10000],[100000,1000000]]) {
  const r = await runEngineScenario({ campaigns: c, users: u, decisions: 20000, warmup: 2000, seed: 42 });
  console.log(JSON.stringify(r));
}
console.log(memoryPerUserState());
