// The people in a scenario: listed by name, or a count of faker-made users, each an SAE attached to a
// KME. Faker draws only from the seeded tree, so the same seed always makes the same people.
import { Faker, base, en } from '@faker-js/faker';
import type { Rng } from './rng.js';
import type { Scenario } from './scenarioSchema.js';

export interface SimUser {
  readonly index: number;
  /** The name scenarios refer to: as listed, or `user-N` (1-based). */
  readonly name: string;
  readonly displayName: string;
  readonly email: string;
  readonly saeId: string;
  readonly kmeIndex: number;
  /** Mean time between this user's mails (Poisson arrivals); Infinity for a user who only reads. */
  readonly meanGapMs: number;
}

const DAY_MS = 86_400_000;

function meanGapOf(mailsPerDay: number): number {
  return mailsPerDay > 0 ? DAY_MS / mailsPerDay : Infinity;
}

export function createFaker(rng: Rng): Faker {
  return new Faker({ locale: [en, base], randomizer: { next: () => rng.next(), seed: () => undefined } });
}

export function createUsers(scenario: Scenario, rng: Rng): SimUser[] {
  const faker = createFaker(rng);
  const kmes = scenario.world.kmes;
  const users = scenario.world.users;
  const { mailsPerUserPerDay } = scenario.workload;
  if (Array.isArray(users)) {
    return users.map((user, index) => {
      const displayName = user.name;
      return {
        index,
        name: user.name,
        displayName,
        email: user.email ?? `${user.name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@example.org`,
        saeId: user.sae ?? `SAE_${user.name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`,
        kmeIndex: (user.kme ?? index) % kmes,
        meanGapMs: meanGapOf(user.mailsPerDay ?? mailsPerUserPerDay),
      };
    });
  }
  return Array.from({ length: users.count }, (_, index) => {
    const first = faker.person.firstName();
    const last = faker.person.lastName();
    return {
      index,
      name: `user-${index + 1}`,
      displayName: `${first} ${last}`,
      email: faker.internet.email({ firstName: first, lastName: last, provider: 'example.org' }).toLowerCase(),
      saeId: `SAE_${String(index + 1).padStart(5, '0')}`,
      kmeIndex: index % kmes,
      meanGapMs: meanGapOf(mailsPerUserPerDay),
    };
  });
}

/** Chooses a recipient for a sender: uniform, popular (Zipf weights over a seeded ranking) or one hot receiver. */
export function createRecipientChooser(scenario: Scenario, users: readonly SimUser[], rng: Rng): (sender: SimUser) => SimUser {
  const recipients = scenario.workload.recipients;
  const uniform = (sender: SimUser): SimUser => {
    const offset = rng.int(1, users.length - 1);
    return users[(sender.index + offset) % users.length] as SimUser;
  };
  if (recipients === 'uniform') return uniform;
  if (recipients === 'popular') {
    const ranking = users.map((user) => user.index);
    for (let i = ranking.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [ranking[i], ranking[j]] = [ranking[j] as number, ranking[i] as number];
    }
    const cumulative: number[] = [];
    let total = 0;
    ranking.forEach((_, rank) => {
      total += 1 / (rank + 1);
      cumulative.push(total);
    });
    return (sender) => {
      for (let tries = 0; tries < 8; tries++) {
        const x = rng.next() * total;
        let lo = 0;
        let hi = cumulative.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if ((cumulative[mid] as number) < x) lo = mid + 1;
          else hi = mid;
        }
        const chosen = users[ranking[lo] as number] as SimUser;
        if (chosen.index !== sender.index) return chosen;
      }
      return uniform(sender);
    };
  }
  const hot = users.find((user) => user.name === recipients.hot);
  if (hot === undefined) throw new Error(`scenario ${scenario.name}: no user "${recipients.hot}"`);
  return (sender) => (sender.index !== hot.index && rng.next() < recipients.share ? hot : uniform(sender));
}
