// Entry point VS Code calls through extensionTestsPath (code-server's ?payload= or @vscode/test-electron):
// runs the API suite with mocha 11 inside the real extension host. The host exits 0 even when run()
// rejects, so the JSON results file (E2E_RESULTS) is what the driver reads.
import Mocha from "mocha";
import { join } from "node:path";

export function run(): Promise<void> {
  const output = process.env.E2E_RESULTS;
  const mocha = new Mocha({
    ui: "bdd",
    timeout: 60000,
    color: false,
    ...(output ? { reporter: "json", reporterOptions: { output } } : { reporter: "spec" }),
  });
  mocha.addFile(join(__dirname, "api.test.js"));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures ? reject(new Error(`${failures} API tests failed`)) : resolve()));
  });
}
