/* The status tree (status.c): refreshing and sweeping it. */
