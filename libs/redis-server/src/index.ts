export { startEmbeddedRedis } from "./embedded-redis.js";
export { RedisServerError, RedisServerNotFoundError } from "./errors.js";
export { logPath, persistenceArgs, redisCommand, redisProcess } from "./redis-process.js";
export type { PersistenceOptions, RedisProcess } from "./redis-process.js";
