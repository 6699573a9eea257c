/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmq_compat.h - differences between the kernels kmq.ko builds for.
 *
 * kmq supports Debian's 6.1 and 6.12 kernels. Where their APIs differ,
 * the difference is bridged here, once, so the rest of kmod/ reads as
 * plain code. Each shim is keyed on what the target's headers contain:
 * Kbuild greps them (as WireGuard's compat Kbuild does) and passes
 * -DKMQ_HAVE_* for what it found, because Debian backports features into
 * 6.1 point releases and LINUX_VERSION_CODE alone would lie.
 *
 *   KMQ_HAVE_MNT_IDMAP      vfs_*() take a struct mnt_idmap (6.3+), not
 *                           a struct user_namespace
 *   KMQ_HAVE_VM_FLAGS_SET   vm_flags_set()/vm_flags_clear() exist and
 *                           vma->vm_flags is read-only (6.3+)
 *   KMQ_HAVE_FILE_LOCK_CORE struct file_lock keeps its owner, type and
 *                           flags in a struct file_lock_core (6.9+,
 *                           <linux/filelock.h>)
 *   KMQ_HAVE_GENL_SPLIT_OPS genl_split_ops exist (6.2+): a dump's
 *                           request attributes moved into its genl_info;
 *                           kmq registers the portable genl_ops either way
 *   KMQ_HAVE_SENDPAGE       kernel_sendpage() exists (before 6.5): pages
 *                           go to TCP by sendpage. Without it they go by
 *                           sendmsg with MSG_SPLICE_PAGES. Debian's 6.1
 *                           defines MSG_SPLICE_PAGES too, but its TCP
 *                           ignores the flag and copies: the probe is on
 *                           kernel_sendpage(), never on the flag.
 */
#ifndef _KMQ_COMPAT_H
#define _KMQ_COMPAT_H

#include <linux/bvec.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/sched.h>
#ifdef KMQ_HAVE_FILE_LOCK_CORE
#include <linux/filelock.h>
#endif
#include <linux/mount.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/genetlink.h>

/*
 * vfs_mkdir(), vfs_rmdir(), vfs_unlink() and vfs_rename() for files under
 * @mnt: the first argument is the mount's idmapping (6.3+) or user
 * namespace (before).
 */
#ifdef KMQ_HAVE_MNT_IDMAP
#define kmq_mnt_idmap(mnt)	mnt_idmap(mnt)
#else
#define kmq_mnt_idmap(mnt)	mnt_user_ns(mnt)
#endif

static inline int kmq_vfs_mkdir_at(struct vfsmount *mnt, struct inode *dir,
				   struct dentry *d, umode_t mode)
{
	return vfs_mkdir(kmq_mnt_idmap(mnt), dir, d, mode);
}

static inline int kmq_vfs_rmdir_at(struct vfsmount *mnt, struct inode *dir,
				   struct dentry *d)
{
	return vfs_rmdir(kmq_mnt_idmap(mnt), dir, d);
}

static inline int kmq_vfs_unlink_at(struct vfsmount *mnt, struct inode *dir,
				    struct dentry *d)
{
	return vfs_unlink(kmq_mnt_idmap(mnt), dir, d, NULL);
}

/* Set both idmappings of a rename inside @mnt. */
static inline void kmq_renamedata_mnt(struct renamedata *rd,
				      struct vfsmount *mnt)
{
#ifdef KMQ_HAVE_MNT_IDMAP
	rd->old_mnt_idmap = mnt_idmap(mnt);
	rd->new_mnt_idmap = mnt_idmap(mnt);
#else
	rd->old_mnt_userns = mnt_user_ns(mnt);
	rd->new_mnt_userns = mnt_user_ns(mnt);
#endif
}

/* Clear VMA flags from an ->mmap() handler. */
static inline void kmq_vm_flags_clear(struct vm_area_struct *vma,
				      unsigned long flags)
{
#ifdef KMQ_HAVE_VM_FLAGS_SET
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/* Make @fl an exclusive flock() request of @f, as flock(2) makes one. */
static inline void kmq_flock_init(struct file_lock *fl, struct file *f)
{
	locks_init_lock(fl);
#ifdef KMQ_HAVE_FILE_LOCK_CORE
	fl->c.flc_flags = FL_FLOCK;
	fl->c.flc_type = F_WRLCK;
	fl->c.flc_file = f;
	fl->c.flc_owner = f;
	fl->c.flc_pid = current->tgid;
#else
	fl->fl_flags = FL_FLOCK;
	fl->fl_type = F_WRLCK;
	fl->fl_file = f;
	fl->fl_owner = f;
	fl->fl_pid = current->tgid;
#endif
}

/* The parsed attributes of a dump's request. */
static inline struct nlattr **kmq_genl_dump_attrs(struct netlink_callback *cb)
{
#ifdef KMQ_HAVE_GENL_SPLIT_OPS
	return genl_dumpit_info(cb)->info.attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

/**
 * kmq_sock_send_pages() - lend page pieces to a socket, without copying
 * their bytes: the socket takes its own page references.
 * @sock: a TCP socket
 * @bv: the pieces
 * @n: their number
 * @len: their bytes together
 * @flags: MSG_* (MSG_MORE when more of the message follows)
 *
 * Return: bytes taken (less than @len when the socket filled up or a
 * signal came), or -errno when none were.
 */
static inline int kmq_sock_send_pages(struct socket *sock, struct bio_vec *bv,
				      unsigned int n, size_t len, int flags)
{
#ifdef KMQ_HAVE_SENDPAGE
	unsigned int i;
	int done = 0, ret = 0;

	for (i = 0; i < n; i++) {
		int f = flags;

		if (i + 1 < n || (flags & MSG_MORE))
			f |= MSG_MORE | MSG_SENDPAGE_NOTLAST;
		ret = kernel_sendpage(sock, bv[i].bv_page, bv[i].bv_offset,
				      bv[i].bv_len, f);
		if (ret <= 0)
			break;
		done += ret;
		if ((unsigned int)ret < bv[i].bv_len)
			break;
	}
	return done ?: ret;
#else
	struct msghdr msg = { .msg_flags = flags | MSG_SPLICE_PAGES };

	iov_iter_bvec(&msg.msg_iter, ITER_SOURCE, bv, n, len);
	return sock_sendmsg(sock, &msg);
#endif
}

#endif /* _KMQ_COMPAT_H */
