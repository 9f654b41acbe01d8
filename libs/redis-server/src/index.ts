export { startEmbeddedRedis } from "./embedded-redis.js";
export type { EmbeddedRedis } from "./embedded-redis.js";
export { RedisServerError, RedisServerNotFoundError } from "./errors.js";
export { logPath, persistenceArgs, redisCommand, redisProcess } from "./redis-process.js";
export type { PersistenceOptions, RedisEndpoint, RedisProcess } from "./redis-process.js";
