import { defineSchema } from "convex/server";

// The example app keeps no tables of its own: boards, cards and runs live in the Lakitu component.
export default defineSchema({});
