/* The status tree (status.c): refreshing and sweeping it. */
int pfring_status_refresh(void);
