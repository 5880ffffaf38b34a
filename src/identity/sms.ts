// Sending SMS through Twilio's Messages API: POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
// form-encoded To, From and Body, with the account SID and auth token as HTTP basic credentials.
import { MatrixError } from "../core/errors.ts";
import type { SmsConfig } from "./config.ts";

export interface SmsSender {
  /** Sends `body` to the MSISDN (E.164 without its '+'); throws MatrixError when it cannot be sent. */
  send(msisdn: string, body: string): Promise<void>;
}

/** Twilio's error codes for a destination it will not deliver to (permissions by region, unreachable numbers). */
const DESTINATION_REJECTED = new Set([21408, 21612, 21610]);
/** Twilio's error codes for a `To` that is not a number it can text. */
const INVALID_ADDRESS = new Set([21211, 21614]);

export class TwilioSms implements SmsSender {
  constructor(
    private readonly config: SmsConfig,
    private readonly timeoutMs = 15_000,
  ) {}

  async send(msisdn: string, body: string): Promise<void> {
    const { accountSid, authToken, from, apiBaseUrl } = this.config;
    const url = `${apiBaseUrl}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ To: `+${msisdn}`, From: from, Body: body }).toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new MatrixError("M_SEND_ERROR", `The SMS could not be sent: ${(err as Error).message}`, 400);
    }
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    let code: unknown;
    try {
      code = ((await response.json()) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    // v2_phone_associations.yaml: M_DESTINATION_REJECTED "cannot deliver an SMS to the provided country or region".
    if (typeof code === "number" && DESTINATION_REJECTED.has(code)) throw new MatrixError("M_DESTINATION_REJECTED", "This service cannot send an SMS to that number", 400);
    if (typeof code === "number" && INVALID_ADDRESS.has(code)) throw new MatrixError("M_INVALID_ADDRESS", "The phone number is not valid", 400);
    throw new MatrixError("M_SEND_ERROR", `The SMS could not be sent (the SMS provider answered ${response.status})`, 400);
  }
}
