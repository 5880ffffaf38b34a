// The texts the service sends: the validation token by email or SMS, and the invitation mail of
// /store-invite. Plain text only: what a request gives (room names, display names) is never markup.
import type { Mail } from "../mail/mailer.ts";

export function validationMail(options: { appName: string; to: string; token: string; link: string }): Mail {
  return {
    to: options.to,
    subject: `Confirm your email address for ${options.appName}`,
    text: [
      "Hello,",
      "",
      `Someone asked ${options.appName} to confirm that this email address is yours.`,
      "If it was you, open this link:",
      "",
      options.link,
      "",
      `or give your Matrix client this code: ${options.token}`,
      "",
      "If it was not you, ignore this mail: nothing happens without the link or the code.",
    ].join("\n"),
  };
}

export function validationSms(appName: string, token: string): string {
  return `Your ${appName} verification code is ${token}`;
}

export interface InvitationDetails {
  readonly to: string;
  readonly appName: string;
  readonly roomId: string;
  readonly sender: string;
  readonly roomName: string | undefined;
  readonly roomAlias: string | undefined;
  readonly roomType: string | undefined;
  readonly senderDisplayName: string | undefined;
  /** Where the invitee joins: the web client's page of the room. */
  readonly link: string;
}

/** A request's text on one line: a line break in a subject would start another header. */
function oneLine(text: string | undefined): string | undefined {
  return text?.replace(/[\r\n\t\u2028\u2029]+/g, " ").trim();
}

export function invitationMail(details: InvitationDetails): Mail {
  const d = { ...details, roomName: oneLine(details.roomName), roomAlias: oneLine(details.roomAlias), senderDisplayName: oneLine(details.senderDisplayName), sender: oneLine(details.sender) ?? "" };
  const inviter = d.senderDisplayName === undefined ? d.sender : `${d.senderDisplayName} (${d.sender})`;
  const kind = d.roomType === "m.space" ? "space" : "room";
  const room = d.roomName ?? d.roomAlias ?? `a ${kind}`;
  return {
    to: d.to,
    subject: `${d.senderDisplayName ?? d.sender} invited you to ${room} on Matrix`,
    text: [
      "Hello,",
      "",
      `${inviter} invited you to ${d.roomName === undefined && d.roomAlias === undefined ? room : `the ${kind} ${room}`} on Matrix.`,
      "To join, open this link:",
      "",
      d.link,
      "",
      `This invitation was sent through ${d.appName}. If you do not know the sender, ignore this mail.`,
    ].join("\n"),
  };
}
