// Verifies webhook deliveries with the Standard Webhooks reference library (standardwebhooks on
// npm), not with HPMS's own code: argv[2] is the endpoint's secret (whsec_…), stdin a JSON array
// of {headers: {webhook-id, webhook-timestamp, webhook-signature}, body}. Prints
// {"verified": n} or exits 1 naming the first delivery that fails.
import { Webhook } from "standardwebhooks";

const secret = process.argv[2];
const input = await new Promise((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
});
const deliveries = JSON.parse(input);
// The library takes the secret with or without its whsec_ prefix.
const webhook = new Webhook(secret);
let verified = 0;
for (const delivery of deliveries) {
  try {
    webhook.verify(delivery.body, delivery.headers);
    verified += 1;
  } catch (error) {
    console.error(`delivery ${delivery.headers["webhook-id"]} fails verification: ${error.message}`);
    process.exit(1);
  }
}
console.log(JSON.stringify({ verified }));
