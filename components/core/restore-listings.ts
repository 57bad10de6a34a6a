import { RestoreCandidate } from "./restore-point";

/**
 * The backups each scope holds (an AWS account's region, an Azure subscription, a GCP project),
 * listed once per program run and shared by every restore VM of the scope: the first VM that asks
 * starts the listing, every other VM of the scope awaits the same answer, and a failed listing
 * fails each of them with the same reason. One belongs to one program run (a cloud path's
 * session makes its own), never to the module: tests and the sandbox run the program many times
 * in one process, and a later run must see the backups taken since.
 */
export class RestoreListings {
    private readonly listings = new Map<string, Promise<readonly RestoreCandidate[]>>();

    /**
     * The backups of `scope` (a key naming it exactly, e.g. account, region and role): `list`
     * runs for the first VM that asks, and its answer (or its failure) is every later VM's.
     */
    of(scope: string, list: () => Promise<readonly RestoreCandidate[]>): Promise<readonly RestoreCandidate[]> {
        let listing = this.listings.get(scope);
        if (!listing) {
            listing = list();
            this.listings.set(scope, listing);
        }
        return listing;
    }

    /**
     * The backups of `scope` taken from one disk (`isOriginal` says which sources are that disk,
     * as the cloud names disks), from the scope's one listing.
     */
    async ofDisk(
        scope: string,
        list: () => Promise<readonly RestoreCandidate[]>,
        isOriginal: (source: string) => boolean,
    ): Promise<RestoreCandidate[]> {
        return (await this.of(scope, list)).filter((c) => isOriginal(c.source));
    }
}
