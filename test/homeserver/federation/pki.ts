/**
 * A throwaway certificate authority for federation tests, made with the openssl CLI in a temporary
 * folder: a CA certificate (given to servers as federation_custom_ca_list) and server certificates
 * it signs for the names and addresses a test needs.
 *
 *   const pki = await createTestPki();
 *   const cert = pki.issue(["hs.test"], ["127.0.0.1"]);   // { certPath, keyPath, cert, key }
 *   await pki.cleanup();
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface IssuedCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  readonly caPath: string;
  readonly caCert: string;
  issue(dnsNames: readonly string[], ipAddresses?: readonly string[]): IssuedCertificate;
  cleanup(): Promise<void>;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

export async function createTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), "weft-pki-"));
  openssl(
    [
      "req", "-x509", ...EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Weft test CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  let serial = 0;
  return {
    dir,
    caPath: join(dir, "ca.pem"),
    caCert: readFileSync(join(dir, "ca.pem"), "utf8"),
    issue(dnsNames, ipAddresses = []) {
      const name = `leaf${++serial}`;
      const altNames = [...dnsNames.map((n) => `DNS:${n}`), ...ipAddresses.map((ip) => `IP:${ip}`)].join(",");
      writeFileSync(
        join(dir, `${name}.ext`),
        `subjectAltName=${altNames}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
      );
      openssl(["req", ...EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${dnsNames[0] ?? ipAddresses[0]}`], dir);
      openssl(
        ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", String(1000 + serial),
          "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`],
        dir,
      );
      const certPath = join(dir, `${name}.pem`);
      const keyPath = join(dir, `${name}.key`);
      return { certPath, keyPath, cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}
